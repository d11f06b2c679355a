/**
 * A content fingerprint of a model folder, so that results cached under a model's path are never reused after the
 * weights, config or tokenizer at that path change (a retrained base model, a re-downloaded checkpoint, one layer
 * edited in place). Every byte of every model file counts. Reading tens of gigabytes at every run is avoided twice
 * over: a file in the Hugging Face cache is a link to a blob named by its SHA-256 (the hub's own content hash), and
 * any other file's hash is kept in crossmon's cache folder, keyed by its path, size, modification time and inode,
 * so it is read again only when one of those changes.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { crossmonCacheDir } from "../../core/cache-dir.js";
import { assertRegularFile } from "../../core/errors.js";
import { cachedSnapshot } from "../../hub/cache.js";
import { parseHubRef } from "../../hub/reference.js";
import { resolveModelDir } from "../../hub/resolve.js";

const MODEL_JSON = [
  "config",
  "generation_config",
  "tokenizer",
  "tokenizer_config",
  "special_tokens_map",
  "adapter_config",
  "chat_template",
].join("|");
// the files that make a model what it is: its JSON configuration and tokenizer, its chat template, and its weights
// (with their index)
const MODEL_FILE = new RegExp(
  `^(${MODEL_JSON})\\.json$|^chat_template\\.jinja$|\\.safetensors$|\\.safetensors\\.index\\.json$`,
);
const SHA256 = /^[0-9a-f]{64}$/;

function sha256OfFile(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** The SHA-256 a hub cache's link names: snapshots/<commit>/<file> → ../../blobs/<sha256> (LFS files). */
function hubBlobHash(path: string): string | null {
  try {
    const target = readlinkSync(path);
    const name = basename(target);
    return basename(dirname(target)) === "blobs" && SHA256.test(name) ? name : null;
  } catch {
    return null; // not a link
  }
}

interface Remembered {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/** A file's SHA-256, from the hub's blob name, from crossmon's cache while the file is unchanged, or read now. */
export function fileHash(path: string): string {
  const blob = hubBlobHash(path);
  if (blob) return blob;
  const real = realpathSync(path);
  assertRegularFile(real);
  const s = statSync(real);
  const key = createHash("sha256").update(real).digest("hex").slice(0, 32);
  const file = join(crossmonCacheDir(), "file-hashes", `${key}.json`);
  const same = (r: Partial<Remembered>) =>
    r.path === real && r.size === s.size && r.mtimeMs === s.mtimeMs && r.ino === s.ino && SHA256.test(r.sha256 ?? "");
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as Partial<Remembered>;
    if (same(r)) return r.sha256 as string;
  } catch {
    // not remembered yet, or unreadable: hashed again below
  }
  const sha256 = sha256OfFile(real);
  // kept only when the file did not change while it was read
  const after = statSync(real);
  if (after.size === s.size && after.mtimeMs === s.mtimeMs) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ path: real, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, sha256 }));
      renameSync(tmp, file);
    } catch {
      // a read-only cache folder: hashed again next time, nothing else lost
    }
  }
  return sha256;
}

/**
 * The folder a model reference names (a folder, or a hub id's snapshot in the cache), or null when it names nothing on
 * this machine (a model served elsewhere, by its name). A path that exists but is no model folder, or a partial
 * download, is an error: a cache key never falls back to the path.
 */
function modelDirOf(ref: string): string | null {
  const kind = existsSync(join(ref, "adapter_config.json")) ? "adapter" : "model";
  if (existsSync(ref)) return resolveModelDir(ref, kind);
  const hub = parseHubRef(ref);
  if (!hub || !cachedSnapshot(hub)) return null;
  return resolveModelDir(ref, kind);
}

function modelFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => MODEL_FILE.test(f))
    .sort();
}

function fingerprintOf(dir: string): string {
  const h = createHash("sha256");
  for (const name of modelFiles(dir)) h.update(`${name}\0${fileHash(join(dir, name))}\0`);
  return h.digest("hex").slice(0, 24);
}

/**
 * The fingerprint of a model (or adapter) folder, or of a hub id's snapshot in the cache; null when the reference
 * names nothing on this machine (a model name on a server).
 */
export function modelFingerprint(ref: string): string | null {
  const dir = modelDirOf(ref);
  return dir && fingerprintOf(dir);
}

const remembered = new Map<string, { files: string; fingerprint: string }>();

/**
 * modelFingerprint, worked out again only when a model file's name, size or modification time changed since this
 * process last did: a cache key names every model it scores by content, once per call.
 */
export function modelFingerprintCached(ref: string): string | null {
  const dir = modelDirOf(ref);
  if (!dir) return null;
  const files = modelFiles(dir)
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f}\0${s.size}\0${s.mtimeMs}\0${s.ino}`;
    })
    .join("\n");
  const known = remembered.get(dir);
  if (known?.files === files) return known.fingerprint;
  const fingerprint = fingerprintOf(dir);
  remembered.set(dir, { files, fingerprint });
  return fingerprint;
}
