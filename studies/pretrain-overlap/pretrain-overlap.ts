/**
 * How many of each domain's test texts (the first n of split seed 0, world seeds 0 and 1, as `crossmon eval` scores
 * them) also appear, without labels, among the world texts of the base model's pretraining corpus. Domains with few
 * distinct texts (code changes) overlap: the base model has read some test texts as plain text, never with a label.
 * Two corpora: the shipped model's (drawn before seeds came from named streams, with world seed 7919·seed + 13) and
 * the one `crossmon pretrain` draws now (world seed deriveSeed(seed, "pretrain.world")).
 *   npx tsx studies/pretrain-overlap/pretrain-overlap.ts [n]
 */
import { generateWorldTexts, buildWorld, DEFAULT_WORLD_SIZE } from "../../src/data/world/index.js";
import { splitTasks } from "../../src/data/splits.js";
import { SHIPPED_RECIPE, pretrainWorldSeed } from "../../src/train/pretrain/index.js";

const n = Number(process.argv[2] ?? 300);
const r = SHIPPED_RECIPE;
const corpora = {
  // recorded: the shipped weights were pretrained on this draw
  shipped: r.seed * 7919 + 13,
  "recipe now": pretrainWorldSeed(r.seed),
};
for (const [name, corpusSeed] of Object.entries(corpora)) {
  const corpus = new Map(
    generateWorldTexts({ seed: corpusSeed, size: r.worldPerDomain }).map((d) => [
      d.spec.domain,
      new Set(d.texts.map((t) => t.text)),
    ]),
  );
  for (const seed of [0, 1]) {
    const done = new Set<string>();
    for (const s of splitTasks(buildWorld({ seed, size: DEFAULT_WORLD_SIZE }), 0)) {
      if (done.has(s.task.domain)) continue;
      done.add(s.task.domain);
      const test = s.test.slice(0, n);
      const read = corpus.get(s.task.domain);
      const seen = read ? test.filter((e) => read.has(e.text ?? "")).length : 0;
      console.log(
        `${name.padEnd(10)} world ${seed}  ${s.task.domain.padEnd(18)} ${String(seen).padStart(4)} of ${test.length}` +
          " test texts in the pretraining corpus",
      );
    }
  }
}
