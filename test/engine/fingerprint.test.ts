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
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelFingerprint } from "../../src/engine/io/fingerprint.js";

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

test("a weight file over 64 MiB is fingerprinted by its size and its first and last 16 MiB", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fp-big-"));
  const f = join(dir, "model.safetensors");
  writeFileSync(f, "");
  truncateSync(f, 80 * 2 ** 20); // sparse: no 80 MiB written
  const fp = modelFingerprint(dir);
  // the size alone: still zeros in the first and last 16 MiB
  truncateSync(f, 81 * 2 ** 20);
  assert.notEqual(modelFingerprint(dir), fp, "the size");
  truncateSync(f, 80 * 2 ** 20);
  assert.equal(modelFingerprint(dir), fp, "back to the same bytes");
  const poke = (pos: number) => {
    const fd = openSync(f, "r+");
    writeSync(fd, Buffer.from([7]), 0, 1, pos);
    closeSync(fd);
  };
  poke(80 * 2 ** 20 - 1);
  const tail = modelFingerprint(dir);
  assert.notEqual(tail, fp, "the last byte");
  poke(3);
  assert.notEqual(modelFingerprint(dir), tail, "the first bytes");
});
