/**
 * Adapters crossmon writes for the newer families load in PEFT over transformers' own model and give the same logits
 * (Phi-3's fused qkv_proj / gate_up_proj named as PEFT names them; Gemma 2's caps and windows on the way). Skipped,
 * with the reason, where Python lacks torch, transformers and peft (CROSSMON_PYTHON picks the interpreter).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { saveAdapter } from "../../src/engine/io/peft.js";
import { addLora } from "../../src/engine/lora.js";
import { padBatch } from "../../src/engine/sequences.js";
import { assertClose, randomArray } from "../helpers.js";

const FIX = join(import.meta.dirname, "..", "fixtures");
const PYTHON = process.env.CROSSMON_PYTHON ?? "python3";
const probe = spawnSync(PYTHON, ["-c", "import torch, transformers, peft"], { encoding: "utf8" });
const skip = probe.status === 0 ? false : `${PYTHON} cannot import torch, transformers and peft`;

const SCRIPT = `
import json, sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base = AutoModelForCausalLM.from_pretrained(sys.argv[1], attn_implementation="eager", dtype=torch.float32)
model = PeftModel.from_pretrained(base, sys.argv[2]).eval()
with torch.no_grad():
    print(json.dumps(model(input_ids=torch.tensor([json.loads(sys.argv[3])])).logits[0].tolist()))
`;

for (const name of ["tiny-phi3", "tiny-gemma2", "tiny-olmo2"]) {
  test(`a crossmon LoRA adapter on ${name} gives the same logits in PEFT`, { skip }, () => {
    const dir = join(FIX, name);
    const model = loadModel(dir);
    addLora(model, { rank: 4, alpha: 8, dropout: 0, targets: ["all-linear"], seed: 2 });
    model.linears().forEach((l, i) => l.lora?.B.data.set(randomArray(l.lora.B.data.length, 10 + i, 0.3)));
    const out = join(mkdtempSync(join(tmpdir(), "crossmon-peft-")), "adapter");
    saveAdapter(model, out, dir);
    const ids = [1, 17, 5, 40, 22, 9, 63, 3];
    const ours = model.forward(padBatch([ids]), Int32Array.from(ids.map((_, i) => i))).logits;
    const r = spawnSync(PYTHON, ["-c", SCRIPT, dir, out, JSON.stringify(ids)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const theirs = (JSON.parse(r.stdout.trim().split("\n").pop() ?? "[]") as number[][]).flat();
    assertClose(ours, theirs, 1e-4, `${name} logits with the adapter`);
  });
}
