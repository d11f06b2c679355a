/**
 * A bag-of-words logistic-regression baseline: binary word features, L2-regularised, trained by full-batch gradient
 * descent with Adam. If it nears AUROC 1 on a task, the task can be solved by spotting keywords. Beside it, the AUROC
 * of the text's length in words alone: far from 0.5 either way, a model (trained or not) can score well or badly by
 * length without reading, so a result near that figure deserves suspicion.
 */
import type { SplitTask } from "../data/splits.js";
import { exampleText, type Example } from "../data/task.js";
import { vocabulary, words } from "../data/text-features.js";
import { auroc } from "./auroc.js";

export interface BaselineResult {
  task: string;
  auroc: number;
  /** AUROC of the test texts' word counts against their labels (0.5: length says nothing) */
  lengthAuroc: number;
  nTrain: number;
  nTest: number;
  features: number;
}

export function bagOfWordsBaseline(
  s: SplitTask,
  o: { epochs?: number; l2?: number; lr?: number } = {},
): BaselineResult {
  const epochs = o.epochs ?? 200,
    l2 = o.l2 ?? 1e-3,
    lr = o.lr ?? 0.1;
  const vocab = [...vocabulary(s.train.map(exampleText), 2).keys()];
  const index = new Map(vocab.map((w, i) => [w, i]));
  const featurise = (e: Example) => [
    ...new Set(
      words(exampleText(e))
        .map((w) => index.get(w))
        .filter((i): i is number => i !== undefined),
    ),
  ];
  const X = s.train.map(featurise);
  const y = s.train.map((e) => (e.label ? 1 : 0));
  const w = new Float64Array(vocab.length);
  const m = new Float64Array(vocab.length + 1),
    v = new Float64Array(vocab.length + 1);
  let b = 0;
  for (let ep = 1; ep <= epochs; ep++) {
    const g = new Float64Array(vocab.length + 1);
    X.forEach((f, i) => {
      let z = b;
      for (const j of f) z += w[j];
      const err = 1 / (1 + Math.exp(-z)) - y[i];
      for (const j of f) g[j] += err;
      g[vocab.length] += err;
    });
    for (let j = 0; j <= vocab.length; j++) {
      const gj = g[j] / X.length + (j < vocab.length ? l2 * w[j] : 0);
      m[j] = 0.9 * m[j] + 0.1 * gj;
      v[j] = 0.999 * v[j] + 0.001 * gj * gj;
      const step = (lr * (m[j] / (1 - 0.9 ** ep))) / (Math.sqrt(v[j] / (1 - 0.999 ** ep)) + 1e-8);
      if (j < vocab.length) w[j] -= step;
      else b -= step;
    }
  }
  const scores = s.test.map((e) => featurise(e).reduce((z, j) => z + w[j], b));
  const labels = s.test.map((e) => e.label);
  return {
    task: s.task.id,
    auroc: auroc(labels, scores),
    lengthAuroc: auroc(
      labels,
      s.test.map((e) => words(exampleText(e)).length),
    ),
    nTrain: s.train.length,
    nTest: s.test.length,
    features: vocab.length,
  };
}
