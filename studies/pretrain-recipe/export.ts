/**
 * Exports what a from-scratch recipe study of the base model needs, for studies/pretrain-recipe/pretrain_study.py on a GPU machine
 * (./recipe-study.ts says what and how): the three phases' streams with conversations, questions and stories
 * SCALE times as many, the recipe, and every built-in task's test prompts for world seeds 0 and 1.
 *   npx tsx studies/pretrain-recipe/export.ts MODEL_DIR OUT_DIR [SCALE] [n] [KNOWLEDGE]
 * KNOWLEDGE: reference documents about the world's vocabulary (./reference-documents.ts), before scaling; the
 * recipe's own is 0.
 */
import { exportPretrainStudy } from "./recipe-study.js";

const [model, out, scale, n, knowledge] = process.argv.slice(2);
if (!model || !out)
  throw new Error("usage: npx tsx studies/pretrain-recipe/export.ts MODEL_DIR OUT_DIR [SCALE] [n] [KNOWLEDGE]");
exportPretrainStudy({
  model,
  out,
  scale: Number(scale ?? 1),
  n: Number(n ?? 300),
  referenceDocuments: Number(knowledge ?? 0),
  log: console.log,
});
