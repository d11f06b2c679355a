/** Exports for hosted fine-tuning, on the built-in world: OpenAI chat JSONL with weighted answers; token ids + weights. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { toyBase } from "../train/toy-base.js";

const ROOT = join(import.meta.dirname, "..", "..");

test("crossmon export --to openai and --to tokens", () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-export-"));
  const spec = join(dir, "spec.yaml");
  writeFileSync(
    spec,
    YAML.stringify({
      base_model: toyBase(),
      data: { world: { seed: 0, size: 60 }, instruction_pool: 50 },
      hyper: { max_tokens: 512 },
      stages: [
        {
          name: "mixed",
          mixture: { classification: [{ task: "cyber_harm", examples: 10 }], instruction: { examples: 5 } },
        },
      ],
    }),
  );
  for (const to of ["openai", "tokens"]) {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "export", spec, "--to", to, "-o", join(dir, to)],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
  }
  const oa = readFileSync(join(dir, "openai-1-mixed.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(oa.length, 15);
  const cls = oa.filter((x) => x.messages.length === 2 && ["Yes", "No"].includes(x.messages[1].content));
  assert.equal(cls.length, 10);
  for (const x of cls) {
    assert.equal(x.messages[0].role, "user");
    assert.match(x.messages[0].content, /cyber attack/);
    assert.equal(x.messages[1].weight, 1);
  }
  for (const x of oa) for (const m of x.messages) if (m.role !== "assistant") assert.equal(m.weight, undefined);
  const tok = HfTokenizer.load(toyBase());
  const tk = readFileSync(join(dir, "tokens-1-mixed.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(tk.length, 15);
  for (const x of tk.filter((t) => t.source === "classification")) {
    assert.equal(x.input_ids.length, x.loss_weights.length);
    assert.equal(x.loss_weights.filter((w: number) => w > 0).length, 1);
    assert.ok(["Yes", "No"].includes(tok.decode([x.input_ids.at(-1)]).trim()));
  }
});
