/** A toy base model (tokenizer + 1-layer model) made by the pretraining recipe at toy size, once per test file. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pretrain } from "../../src/train/pretrain.js";

let dir: string | null = null;
export function toyBase(): string {
  if (!dir) {
    dir = join(mkdtempSync(join(tmpdir(), "crossmon-base-")), "base");
    pretrain({ out: dir, hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64, worldPerDomain: 30, ifSize: 100, readingSize: 100, vocabSize: 600, seqLen: 64, rowsPerStep: 4, microRows: 4, steps: 3, instructSteps: 2, quiet: true });
  }
  return dir;
}
