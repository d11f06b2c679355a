/** The content fingerprint of a model folder: it follows the weights, config and tokenizer, not the path or other files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
  closeSync,
  truncateSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileHash, modelFingerprint, modelFingerprintCached } from "../../src/engine/io/fingerprint.js";
import { createHash } from "node:crypto";

// hashes are remembered in a cache folder of this test file's own
process.env.CROSSMON_CACHE_DIR = mkdtempSync(join(tmpdir(), "crossmon-fp-cache-"));

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "tiny-llama");

test("a model's fingerprint changes with one byte of its weights or config, not with its path or a README", () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-fp-"));
  const a = join(root, "a"),
    b = join(root, "b");
  cpSync(FIXTURE, a, { recursive: true });
  cpSync(FIXTURE, b, { recursive: true });
  const fp = modelFingerprint(a);
  assert.match(fp ?? "", /^[0-9a-f]{24}$/);
  assert.equal(modelFingerprint(b), fp, "the same files elsewhere");
  writeFileSync(join(b, "README.md"), "notes");
  assert.equal(modelFingerprint(b), fp, "a file that is not part of the model");
  const w = readFileSync(join(b, "model.safetensors"));
  w[w.length - 1] ^= 1;
  writeFileSync(join(b, "model.safetensors"), w);
  assert.notEqual(modelFingerprint(b), fp, "one bit of the weights");
  const c = join(root, "c");
  cpSync(FIXTURE, c, { recursive: true });
  writeFileSync(join(c, "config.json"), readFileSync(join(c, "config.json"), "utf8").replace("}", ', "note": 1}'));
  assert.notEqual(modelFingerprint(c), fp, "the config");
  assert.equal(modelFingerprint(join(root, "missing")), null, "not a folder: a model name on a server");
});

test("a weight file's every byte counts: one changed in the middle of a large file changes the fingerprint", () => {
  process.env.CROSSMON_CACHE_DIR = mkdtempSync(join(tmpdir(), "crossmon-fp-cache-"));
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fp-big-"));
  const f = join(dir, "model.safetensors");
  writeFileSync(f, "");
  truncateSync(f, 80 * 2 ** 20); // sparse: no 80 MiB written
  const fp = modelFingerprint(dir);
  truncateSync(f, 81 * 2 ** 20);
  assert.notEqual(modelFingerprint(dir), fp, "the size");
  truncateSync(f, 80 * 2 ** 20);
  assert.equal(modelFingerprint(dir), fp, "back to the same bytes");
  const poke = (pos: number) => {
    const fd = openSync(f, "r+");
    writeSync(fd, Buffer.from([7]), 0, 1, pos);
    closeSync(fd);
  };
  let last = fp;
  for (const [pos, what] of [
    [40 * 2 ** 20, "a byte in the middle (a middle layer)"],
    [80 * 2 ** 20 - 1, "the last byte"],
    [3, "the first bytes"],
  ] as const) {
    poke(pos);
    const now = modelFingerprint(dir);
    assert.notEqual(now, last, what);
    last = now;
  }
  assert.equal(modelFingerprintCached(dir), last, "the cached form agrees");
});

test("a file's hash is read once while its size, time and inode stay, and again when the file changes", () => {
  const cache = mkdtempSync(join(tmpdir(), "crossmon-fp-cache-"));
  process.env.CROSSMON_CACHE_DIR = cache;
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fp-keep-"));
  const f = join(dir, "w.safetensors");
  writeFileSync(f, "weights, first version");
  const first = fileHash(f);
  assert.equal(first, createHash("sha256").update("weights, first version").digest("hex"));
  const [kept] = readdirSync(join(cache, "file-hashes"));
  const record = JSON.parse(readFileSync(join(cache, "file-hashes", kept), "utf8"));
  assert.equal(record.sha256, first);
  // the record is what is used while the file is unchanged: a forged one is believed (which shows it was not re-read)
  writeFileSync(join(cache, "file-hashes", kept), JSON.stringify({ ...record, sha256: "ab".repeat(32) }));
  assert.equal(fileHash(f), "ab".repeat(32));
  writeFileSync(f, "weights, second version");
  utimesSync(f, new Date(), new Date(Date.now() + 5000));
  assert.equal(fileHash(f), createHash("sha256").update("weights, second version").digest("hex"), "changed: re-read");
});

test("a file in the hub cache is known by its blob's name, the hub's SHA-256 of it", () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-fp-hub-"));
  const sha = createHash("sha256").update("blob").digest("hex");
  mkdirSync(join(root, "blobs"));
  mkdirSync(join(root, "snapshots", "c0ffee"), { recursive: true });
  writeFileSync(join(root, "blobs", sha), "blob");
  symlinkSync(join("..", "..", "blobs", sha), join(root, "snapshots", "c0ffee", "model.safetensors"));
  assert.equal(fileHash(join(root, "snapshots", "c0ffee", "model.safetensors")), sha);
});

test("a path that is there but is no model folder is an error, never a key made of the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fp-file-"));
  writeFileSync(join(dir, "weights.bin"), "x");
  assert.throws(() => modelFingerprint(join(dir, "weights.bin")), /not a folder/);
  assert.throws(() => modelFingerprintCached(join(dir, "weights.bin")), /not a folder/);
  assert.equal(modelFingerprintCached("gpt-4o-mini"), null, "a model on a server has no folder here");
});
