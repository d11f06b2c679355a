/**
 * One process at a time in a run folder: a lock file (`.crossmon.lock`, created atomically) names the process that
 * holds it. A second process refuses with who holds it; a lock left by a process that is gone (killed, crashed) is
 * taken over, by renaming it away first, so two processes that both find it stale cannot both take it.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { InputError } from "./errors.js";

export const LOCK_FILE = ".crossmon.lock";

interface Holder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

function readHolder(file: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as Holder;
    return typeof h.pid === "number" ? h : null;
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

/** Who holds a folder's lock now (on this machine, whether that process is alive), or null when nobody does. */
export function folderHolder(dir: string): (Holder & { alive: boolean | null }) | null {
  const h = readHolder(join(dir, LOCK_FILE));
  if (!h) return null;
  return { ...h, alive: h.host === hostname() ? alive(h.pid) : null };
}

/** Takes the folder's lock, or throws an InputError naming its holder. Returns the release function. */
export function lockFolder(dir: string): () => void {
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: process.argv.slice(1).join(" "),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (readHolder(file)?.pid === me.pid) rmSync(file, { force: true });
        // a run refused before it wrote anything leaves no folder behind
        if (created && readdirSync(dir).length === 0) rmdirSync(dir);
        process.off("exit", release);
      };
      process.on("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readHolder(file);
    // another host's process cannot be checked from here: its lock holds until removed by hand
    if (holder && (holder.host !== me.host || alive(holder.pid))) {
      throw new InputError(
        `in use by crossmon pid ${holder.pid} on ${holder.host} since ${holder.started} (${holder.command}): ` +
          `wait for it to finish, or use another folder` +
          (holder.host !== me.host ? `, or remove ${LOCK_FILE} if it is gone` : ""),
        dir,
      );
    }
    // stale: move it aside (only one of several takers can), then try again to create ours
    try {
      renameSync(file, `${file}.stale-${process.pid}`);
      rmSync(`${file}.stale-${process.pid}`, { force: true });
    } catch {
      // someone else moved it first; the next attempt sees their lock or none
    }
  }
  throw new InputError(`could not take ${LOCK_FILE} after 3 attempts`, dir);
}

/** Runs fn holding the folder's lock, released after it (also on an error). */
export async function withFolderLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const release = lockFolder(dir);
  try {
    return await fn();
  } finally {
    release();
  }
}
