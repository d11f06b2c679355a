/**
 * A cell's lease, kept by heartbeats from a thread of its own (lease-thread.ts), so that it holds while the main
 * thread trains or scores without yielding; a lease kept from the main thread's event loop ran out during every
 * training longer than it, and healthy workers took the cell again.
 */
import { Worker } from "node:worker_threads";
import type pg from "pg";
import { threadEntry } from "../../core/thread-entry.js";
import type { ClaimedCell } from "./cells.js";
import type { LeaseThreadOptions } from "./lease-thread.js";

export interface HeldLease {
  /** the time of the last heartbeat that found the cell still this worker's (ms since the epoch), 0 before one */
  lastHeld(): number;
  /** whether a heartbeat found the cell taken by another worker or finished */
  lost(): boolean;
  release(): Promise<void>;
}

export function holdLease(pool: pg.Pool, cell: ClaimedCell, worker: string, leaseSeconds: number): HeldLease {
  const connectionString = pool.options.connectionString;
  if (!connectionString) throw new Error("the store's pool has no connection string for the lease's thread");
  const data: LeaseThreadOptions = {
    connectionString,
    run: cell.run,
    key: cell.key,
    worker,
    leaseSeconds,
    everyMs: Math.max(1000, (leaseSeconds * 1000) / 3),
  };
  const thread = new Worker(threadEntry(import.meta.url, "lease-thread"), { workerData: data });
  let held = 0;
  let lost = false;
  thread.on("message", (m: { beat: number; held?: boolean; error?: string }) => {
    if (m.held === true) held = m.beat;
    if (m.held === false) lost = true;
  });
  thread.on("error", () => {});
  const exited = new Promise<void>((r) => thread.once("exit", () => r()));
  return {
    lastHeld: () => held,
    lost: () => lost,
    async release() {
      thread.postMessage({ stop: true });
      // a thread stuck on an unreachable store is not waited for
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      await thread.terminate();
    },
  };
}
