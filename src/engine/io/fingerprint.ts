/**
 * A content fingerprint of a model folder, so that results cached under a model's path are never reused after the
 * weights, config or tokenizer at that path change (a retrained base model, a re-downloaded checkpoint). Files up to
 * 64 MiB are hashed whole; larger weight files by their size and their first and last 16 MiB, which changes with any
 * retraining or re-quantisation without reading tens of gigabytes at every run.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveModelDir } from "../../hub/resolve.js";

const WHOLE = 64 * 2 ** 20;
const EDGE = 16 * 2 ** 20;
const MODEL_JSON = [
  "config",
  "generation_config",
  "tokenizer",
  "tokenizer_config",
  "special_tokens_map",
  "adapter_config",
].join("|");
// the files that make a model what it is: its JSON configuration and tokenizer, and its weights (with their index)
const MODEL_FILE = new RegExp(`^(${MODEL_JSON})\\.json$|\\.safetensors$|\\.safetensors\\.index\\.json$`);

function hashFile(path: string, size: number, h: ReturnType<typeof createHash>): void {
  const fd = openSync(path, "r");
  try {
    const read = (pos: number, len: number) => {
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      h.update(buf.subarray(0, got));
    };
    if (size <= WHOLE) read(0, size);
    else {
      read(0, EDGE);
      read(size - EDGE, EDGE);
    }
  } finally {
    closeSync(fd);
  }
}

/** The folder a model reference names (a folder, or a hub id's snapshot in the cache), or null (a server's model). */
function modelDirOf(ref: string): string | null {
  try {
    const dir = resolveModelDir(ref, existsSync(join(ref, "adapter_config.json")) ? "adapter" : "model");
    return statSync(dir).isDirectory() ? dir : null;
  } catch {
    return null;
  }
}

function modelFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => MODEL_FILE.test(f))
    .sort();
}

function fingerprintOf(dir: string): string {
  const h = createHash("sha256");
  for (const name of modelFiles(dir)) {
    const size = statSync(join(dir, name)).size;
    h.update(`${name}\0${size}\0`);
    hashFile(join(dir, name), size, h);
  }
  return h.digest("hex").slice(0, 24);
}

/**
 * The fingerprint of a model (or adapter) folder, or of a hub id's snapshot in the cache; null when the reference is
 * neither (a model name on a server).
 */
export function modelFingerprint(ref: string): string | null {
  const dir = modelDirOf(ref);
  return dir && fingerprintOf(dir);
}

const remembered = new Map<string, { files: string; fingerprint: string }>();

/**
 * modelFingerprint, read again only when a model file's name, size or modification time changed since this process
 * last read it: a cache key names every model it scores by content, once per call.
 */
export function modelFingerprintCached(ref: string): string | null {
  const dir = modelDirOf(ref);
  if (!dir) return null;
  const files = modelFiles(dir)
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f}\0${s.size}\0${s.mtimeMs}`;
    })
    .join("\n");
  const known = remembered.get(dir);
  if (known?.files === files) return known.fingerprint;
  const fingerprint = fingerprintOf(dir);
  remembered.set(dir, { files, fingerprint });
  return fingerprint;
}
