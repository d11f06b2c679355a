/**
 * Trained models in the database, content-addressed, so that a worker on another machine can evaluate a model trained
 * elsewhere. A model folder (a LoRA adapter, or a full model) is one blob: its files by name, in name order, as JSON
 * with base64 contents, keyed by the SHA-256 of those bytes. Unpacked once per machine into a cache folder.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { z } from "zod";

const Packed = z.object({ files: z.array(z.tuple([z.string(), z.string()])) });

export function packFolder(dir: string): { sha256: string; bytes: Buffer } {
  const names = readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
  const bytes = Buffer.from(
    JSON.stringify({ files: names.map((f) => [f, readFileSync(join(dir, f)).toString("base64")]) }),
  );
  return { sha256: createHash("sha256").update(bytes).digest("hex"), bytes };
}

export async function putBlob(pool: pg.Pool | pg.PoolClient, dir: string): Promise<string> {
  const { sha256, bytes } = packFolder(dir);
  await pool.query("INSERT INTO crossmon.blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
    sha256,
    bytes,
  ]);
  return sha256;
}

/** The blob's folder under cacheDir, fetched and checked against its hash the first time. */
export async function blobFolder(pool: pg.Pool, sha256: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, sha256);
  if (existsSync(join(dir, ".complete"))) return dir;
  const r = await pool.query<{ bytes: Buffer }>("SELECT bytes FROM crossmon.blobs WHERE sha256 = $1", [sha256]);
  if (!r.rows.length) throw new Error(`the store has no blob ${sha256}`);
  const bytes = r.rows[0].bytes;
  const got = createHash("sha256").update(bytes).digest("hex");
  if (got !== sha256) throw new Error(`blob ${sha256} reads back as ${got}: the store is corrupt`);
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, b64] of Packed.parse(JSON.parse(bytes.toString("utf8"))).files) {
    if (name.includes("/") || name.startsWith(".")) throw new Error(`blob ${sha256} holds a bad file name: ${name}`);
    writeFileSync(join(tmp, name), Buffer.from(b64, "base64"));
  }
  writeFileSync(join(tmp, ".complete"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
