/**
 * Does a model answer by text length? Per built-in task (default world, split seed 0, 300 test examples): the model's
 * single-token AUROC, the AUROC of prompt length alone, and the correlation of the model's yes−no margin with length.
 *   npx tsx scripts/length-bias.ts models/crossmon-base
 */
import { loadModel } from "../src/engine/io/checkpoint.js";
import { HfTokenizer } from "../src/engine/io/tokenizer.js";
import { Renderer } from "../src/formats/render.js";
import { scoreNextTokens } from "../src/engine/score.js";
import { buildWorld } from "../src/data/world/index.js";
import { splitTasks } from "../src/data/splits.js";
import { auroc } from "../src/eval/auroc.js";
const dir = process.argv[2];
if (!dir) throw new Error("usage: npx tsx scripts/length-bias.ts MODEL_DIR");
const model = loadModel(dir);
const r = new Renderer(HfTokenizer.load(dir), 1024);
/** Pearson correlation */
const corr = (a: number[], b: number[]) => { const ma = a.reduce((p, c) => p + c) / a.length, mb = b.reduce((p, c) => p + c) / b.length; let sab = 0, saa = 0, sbb = 0; a.forEach((_, i) => { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }); return sab / Math.sqrt(saa * sbb); };
for (const sp of splitTasks(buildWorld({ size: 1500 }), 0)) {
  const ex = sp.test.slice(0, 300);
  const rs = ex.map((e) => r.singleToken(sp.task, e));
  const s = scoreNextTokens(model, rs.map((x) => x.promptIds), rs[0].candidates, 8).map(([y, n]) => y - n);
  const len = rs.map((x) => x.promptIds.length);
  const y = ex.map((e) => e.label);
  console.log(sp.task.id.padEnd(20), "AUROC", auroc(y, s).toFixed(3), " length alone", auroc(y, len).toFixed(3), " corr(margin, length)", corr(s, len).toFixed(3));
}
