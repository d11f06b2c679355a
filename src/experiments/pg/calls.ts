/**
 * The call cache in PostgreSQL: every model call any worker made, by content key, so that a cell redone on another
 * machine (after a kill, or in another run of the same models) reads the calls already made instead of making them
 * again. A worker reads its local store first and this second. The cache only saves work: a call it cannot read or
 * write (the connection lost) is made or kept locally, with a line in the log, and never fails a cell.
 */
import type pg from "pg";
import type { CallCache } from "../../eval/evaluate.js";

export class PgCallCache implements CallCache {
  constructor(
    private readonly pool: pg.Pool,
    private readonly log: (line: string) => void,
  ) {}

  async cacheGet<T>(keys: string[]): Promise<(T | undefined)[]> {
    if (!keys.length) return [];
    try {
      const r = await this.pool.query<{ key: string; value: string }>(
        "SELECT key, value FROM crossmon.calls WHERE key = ANY($1)",
        [keys],
      );
      const got = new Map(r.rows.map((x) => [x.key, JSON.parse(x.value) as T]));
      return keys.map((k) => got.get(k));
    } catch (e) {
      this.log(`worker: the shared call cache cannot be read (${(e as Error).message}); calling the model`);
      return keys.map(() => undefined);
    }
  }

  async cachePut(entries: [string, unknown][]): Promise<void> {
    if (!entries.length) return;
    try {
      await this.pool.query(
        `INSERT INTO crossmon.calls (key, value) SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (key) DO NOTHING`,
        [entries.map(([k]) => k), entries.map(([, v]) => JSON.stringify(v))],
      );
    } catch (e) {
      this.log(`worker: the shared call cache cannot be written (${(e as Error).message}); kept locally`);
    }
  }
}

/** near first; what only far holds is copied near; new calls go to both. */
export function layeredCalls(near: CallCache, far: CallCache): CallCache {
  return {
    async cacheGet<T>(keys: string[]) {
      const out = await near.cacheGet<T>(keys);
      const miss = keys.filter((_, i) => out[i] === undefined);
      if (!miss.length) return out;
      const got = await far.cacheGet<T>(miss);
      const found: [string, unknown][] = [];
      let j = 0;
      keys.forEach((k, i) => {
        if (out[i] !== undefined) return;
        out[i] = got[j++];
        if (out[i] !== undefined) found.push([k, out[i]]);
      });
      await near.cachePut(found);
      return out;
    },
    async cachePut(entries: [string, unknown][]) {
      await near.cachePut(entries);
      await far.cachePut(entries);
    },
  };
}
