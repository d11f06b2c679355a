/**
 * tokenizer.json files that Hugging Face's tokenizers refuses are refused here too (a merge out of the vocabulary, an
 * added token with empty content), where the JavaScript library took them and tokenised differently; a tokenizer
 * whose merges never apply is named in a warning.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";

const BASE = join(import.meta.dirname, "..", "..", "models", "crossmon-base");

function withTokenizer(
  edit: (json: {
    model: { merges: string[]; vocab: Record<string, number> };
    added_tokens: { id: number; content: string; special: boolean }[];
  }) => void,
): string {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-tok-")), "model");
  cpSync(BASE, dir, { recursive: true });
  const file = join(dir, "tokenizer.json");
  const json = JSON.parse(readFileSync(file, "utf8"));
  edit(json);
  writeFileSync(file, JSON.stringify(json));
  return dir;
}

test("a merge out of the vocabulary, or an added token with empty content or no id, is refused naming the field", () => {
  const cases: [string, RegExp][] = [
    [
      withTokenizer((j) => j.model.merges.splice(3, 0, "zq\u00e9 xk")),
      /tokenizer\.json: field "model\.merges" \[3\]: "zq\u00e9 xk": the token "zq\u00e9" is not in the vocabulary/,
    ],
    [withTokenizer((j) => j.model.merges.push("Ġ")), /field "model\.merges" \[\d+\]: "Ġ" is not a pair of tokens/],
    [
      withTokenizer((j) => j.added_tokens.push({ id: 9999, content: "", special: true })),
      /field "added_tokens" \[3\]: a token with empty content/,
    ],
    [
      withTokenizer((j) => j.added_tokens.push({ id: -1, content: "<x>", special: true })),
      /field "added_tokens" \[3\] \("<x>"\): id is not a whole number/,
    ],
  ];
  for (const [dir, why] of cases) assert.throws(() => HfTokenizer.load(dir), why);
  assert.ok(HfTokenizer.load(BASE).encode("hello world").length > 0, "the shipped tokenizer passes");
});

test("a tokenizer whose merges never apply (one token per byte) loads with one warning naming its file", () => {
  const dir = withTokenizer((j) => {
    j.model.merges = [];
  });
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    lines.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    HfTokenizer.load(dir);
    HfTokenizer.load(dir);
    HfTokenizer.load(BASE);
  } finally {
    process.stderr.write = write;
  }
  const warnings = lines.filter((l) => l.includes("warning"));
  assert.equal(warnings.length, 1, lines.join(""));
  assert.match(
    warnings[0],
    /tokenizer\.json: a plain English sentence of \d+ bytes encodes as \d+ tokens \(one per byte or worse\)/,
  );
});
