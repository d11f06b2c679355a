/**
 * The run store (SQLite through better-sqlite3, WAL): cells with their status and result, per-example predictions,
 * and the cache of model calls. A cell's predictions and its "done" mark are written in one transaction, so a kill
 * at any moment (kill -9 included) leaves either a finished cell or none: rerunning recomputes exactly what is missing.
 */
import Database from "better-sqlite3";

export interface PredictionRow {
  task: string;
  example: string;
  format: string;
  label: number;
  score: number;
  extra?: Record<string, unknown>;
}

export class Store {
  readonly db: Database.Database;
  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS cells (key TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL,
        status TEXT NOT NULL, result TEXT, started REAL, finished REAL, seconds REAL);
      CREATE TABLE IF NOT EXISTS predictions (cell TEXT NOT NULL, task TEXT NOT NULL, example TEXT NOT NULL,
        format TEXT NOT NULL, label INTEGER NOT NULL, score REAL NOT NULL, extra TEXT,
        PRIMARY KEY (cell, task, example, format));
      CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  result<T>(key: string): T | null {
    const r = this.db.prepare("SELECT result FROM cells WHERE key = ? AND status = 'done'").get(key) as
      | { result: string }
      | undefined;
    return r ? (JSON.parse(r.result) as T) : null;
  }

  start(key: string, kind: string, spec: unknown): void {
    this.db
      .prepare(
        "INSERT INTO cells (key, kind, spec, status, started) VALUES (?, ?, ?, 'running', ?) ON CONFLICT(key) DO " +
          "UPDATE SET status = CASE WHEN status = 'done' THEN 'done' ELSE 'running' END, started = excluded.started",
      )
      .run(key, kind, JSON.stringify(spec), Date.now() / 1000);
  }

  /**
   * A cell that failed (an error, not a kill): its record goes, unless it is done, so that a failed or refused start
   * leaves no cell marked running behind it (a killed process's cell stays, for `status` to call it interrupted).
   */
  abandon(key: string): void {
    this.db.prepare("DELETE FROM cells WHERE key = ? AND status <> 'done'").run(key);
  }

  /** Marks a cell done with its result and predictions, all or nothing. */
  finish(key: string, result: unknown, predictions: PredictionRow[] = [], seconds = 0): void {
    const ins = this.db.prepare(
      "INSERT OR REPLACE INTO predictions (cell, task, example, format, label, score, extra) VALUES (?, ?, ?, ?, " +
        "?, ?, ?)",
    );
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM predictions WHERE cell = ?").run(key);
      for (const p of predictions)
        ins.run(key, p.task, p.example, p.format, p.label, p.score, p.extra ? JSON.stringify(p.extra) : null);
      this.db
        .prepare("UPDATE cells SET status = 'done', result = ?, finished = ?, seconds = ? WHERE key = ?")
        .run(JSON.stringify(result), Date.now() / 1000, seconds, key);
    })();
  }

  predictions(key: string): PredictionRow[] {
    return (
      this.db
        .prepare("SELECT task, example, format, label, score, extra FROM predictions WHERE cell = ? ORDER BY rowid")
        .all(key) as (PredictionRow & { extra: string | null })[]
    ).map((r) => ({ ...r, extra: r.extra ? JSON.parse(r.extra) : undefined }));
  }

  /** When each cell started (and finished), in seconds since the epoch: what `crossmon status` reads. */
  cellTimes(): { key: string; status: string; started: number | null; finished: number | null }[] {
    return this.db.prepare("SELECT key, status, started, finished FROM cells").all() as {
      key: string;
      status: string;
      started: number | null;
      finished: number | null;
    }[];
  }

  cells(): { key: string; kind: string; status: string; seconds: number | null }[] {
    return this.db.prepare("SELECT key, kind, status, seconds FROM cells ORDER BY started").all() as {
      key: string;
      kind: string;
      status: string;
      seconds: number | null;
    }[];
  }

  cacheGet<T>(keys: string[]): (T | undefined)[] {
    const get = this.db.prepare("SELECT value FROM cache WHERE key = ?");
    return keys.map((k) => {
      const r = get.get(k) as { value: string } | undefined;
      return r ? (JSON.parse(r.value) as T) : undefined;
    });
  }

  cachePut(entries: [string, unknown][]): void {
    const ins = this.db.prepare("INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)");
    this.db.transaction(() => {
      for (const [k, v] of entries) ins.run(k, JSON.stringify(v));
    })();
  }

  setMeta(key: string, value: unknown): void {
    this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, JSON.stringify(value));
  }

  getMeta<T>(key: string): T | undefined {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
