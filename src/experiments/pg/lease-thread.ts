/**
 * A worker thread that keeps one cell's lease while the worker's main thread is busy with the cell (a training holds
 * the event loop for minutes): its own connection, a heartbeat every `everyMs`, until the main thread says stop.
 * A heartbeat that finds the cell no longer this worker's is reported; one that cannot reach the store is tried again
 * at the next beat with a new connection.
 */
import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";

export interface LeaseThreadOptions {
  connectionString: string;
  run: string;
  key: string;
  worker: string;
  leaseSeconds: number;
  everyMs: number;
}

const o = workerData as LeaseThreadOptions;
let client: pg.Client | null = null;
let stopped = false;

async function beat(): Promise<void> {
  try {
    if (!client) {
      client = new pg.Client({ connectionString: o.connectionString });
      client.on("error", () => {
        client = null;
      });
      await client.connect();
    }
    // extends the lease of the cell while it is this worker's; no row: taken by another, or finished
    const r = await client.query(
      `UPDATE crossmon.cells SET lease_until = now() + make_interval(secs => $4)
       WHERE run = $1 AND key = $2 AND worker = $3 AND status = 'running'`,
      [o.run, o.key, o.worker, o.leaseSeconds],
    );
    parentPort?.postMessage({ beat: Date.now(), held: (r.rowCount ?? 0) > 0 });
  } catch (e) {
    parentPort?.postMessage({ beat: Date.now(), error: (e as Error).message });
    const c = client;
    client = null;
    await c?.end().catch(() => {});
  }
}

const timer = setInterval(() => void beat(), o.everyMs);
void beat();
parentPort?.on("message", async (m: { stop?: boolean }) => {
  if (!m.stop || stopped) return;
  stopped = true;
  clearInterval(timer);
  await client?.end().catch(() => {});
  parentPort?.close();
});
