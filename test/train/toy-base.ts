/** A toy base model (tokenizer + 1-layer model) made by the pretraining recipe at toy size, once per test file. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pretrain, TOY_RECIPE } from "../../src/train/pretrain/index.js";

let dir: string | null = null;
export function toyBase(): string {
  if (!dir) {
    dir = join(mkdtempSync(join(tmpdir(), "crossmon-base-")), "base");
    pretrain({ out: dir, ...TOY_RECIPE, quiet: true });
  }
  return dir;
}
