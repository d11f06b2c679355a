/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, started on a free loopback port with trust
 * authentication, stopped (and removed) by stop(). Where PostgreSQL's programs are not installed (Debian:
 * apt-get install postgresql), or cannot start, start() returns the reason instead, for the test to skip with.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Postgres {
  url: string;
  /** an immediate restart: every open connection is cut, as when the server crashes */
  restart: () => void;
  /** an immediate stop (every connection cut, new ones refused) until up() */
  down: () => void;
  up: () => void;
  stop: () => void;
}

function binDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export async function startPostgres(): Promise<Postgres | string> {
  const bin = binDir();
  if (!bin) return "PostgreSQL is not installed (apt-get install postgresql)";
  const dir = mkdtempSync(join(tmpdir(), "crossmon-pg-"));
  // initdb refuses to run as root: run the cluster as the postgres user the Debian package creates
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { encoding: "utf8" })
      : spawnSync(join(bin, cmd), args, { encoding: "utf8" });
  try {
    if (asRoot) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), 0);
  } catch {
    return "running as root without a postgres user to run PostgreSQL as";
  }
  const init = run("initdb", ["-D", join(dir, "data"), "--auth=trust", "-U", "crossmon", "-E", "UTF8"]);
  if (init.status !== 0) return `initdb failed: ${(init.stderr || init.stdout).trim().split("\n").pop()}`;
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = run("pg_ctl", ["-D", join(dir, "data"), "-o", opts, "-l", join(dir, "log"), "-w", "start"]);
  if (start.status !== 0) return `PostgreSQL did not start: ${(start.stderr || start.stdout).trim()}`;
  return {
    url: `postgres://crossmon@127.0.0.1:${port}/postgres`,
    restart: () => {
      run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-o", opts, "-l", join(dir, "log"), "-w", "restart"]);
    },
    down: () => {
      run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "stop"]);
    },
    up: () => {
      run("pg_ctl", ["-D", join(dir, "data"), "-o", opts, "-l", join(dir, "log"), "-w", "start"]);
    },
    stop: () => {
      run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
