/**
 * How monitors fail: the context_length and evasion questions on a tiny spec over the toy base: planned, run,
 * analysed with intervals over replicates, shown by the viewer with the inserted parts marked; and their bad input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyse } from "../../src/experiments/analyze.js";
import { planSpec } from "../../src/experiments/power.js";
import type { EvasionRow } from "../../src/experiments/questions/evasion.js";
import { planRun, runExperiment } from "../../src/experiments/runner.js";
import { describe } from "../../src/report/findings.js";
import { RunRegistry } from "../../src/view/runs.js";
import { createViewServer, listen } from "../../src/view/server.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";

const base = toyBase();
const quiet = { quiet: true, log: () => {} };

test("context length and evasion: every model at every length and family, falls paired with the clean texts", async () => {
  const work = mkdtempSync(join(tmpdir(), "crossmon-robust-"));
  const spec = tinySpec(base, {
    replicates: 2,
    experiments: {
      context_length: {
        task: "agent_dangerous",
        lengths: [0, 300],
        positions: ["start", "end"],
        models: { sources: { cyber: ["cyber_harm"] } },
      },
      evasion: {
        task: "agent_dangerous",
        attacks: ["fake_verdict", "forged_markup"],
        models: { in_domain: true, sources: {} },
        train_with: ["claimed_authorisation"],
      },
    },
  });
  const run = await runExperiment(spec, join(work, "run"), quiet);
  const r = describe(analyse(run));
  const ctx = r.context_length;
  assert.ok(ctx);
  // 3 models × (clean + 1 length × 2 positions)
  assert.equal(ctx.points.length, 3 * 3);
  for (const p of ctx.points) {
    assert.ok(p.auroc.lo <= p.auroc.value && p.auroc.value <= p.auroc.hi);
    assert.equal(p.fall === null, p.length === 0, "a fall for each padded point");
    if (p.model !== "untrained") assert.equal(p.auroc.replicates?.length, 2, "trained models over 2 replicates");
  }
  assert.match(ctx.finding, /padded to 300 tokens \(the original in the start\), AUROC changes by untrained /);
  const ev = r.evasion;
  assert.ok(ev);
  // untrained, in-domain and the attack-trained recipe × (clean + 2 families)
  assert.deepEqual([...new Set(ev.rows.map((x) => x.model))], ["untrained", "in-domain", "in-domain + attacks"]);
  assert.equal(ev.rows.length, 3 * 3);
  assert.deepEqual(ev.trained_with, ["claimed_authorisation"]);
  assert.match(ev.finding, /Per model, the family with the lowest change in TPR .*: untrained: \w+, TPR /);
  for (const x of ev.rows) {
    assert.equal(x.tpr_change_at_5 === null, x.family === "clean");
    // positives only attacked: the negatives, and so the FPR at the clean threshold, are the clean ones
    const clean: EvasionRow | undefined = ev.rows.find((y) => y.model === x.model && y.family === "clean");
    assert.deepEqual(x.fpr_at_5.value, clean?.fpr_at_5.value);
  }
  // the padded texts were scored at their length, within the model's context
  const padded = run.plan.evals.filter((c) => c.task === "agent_dangerous~pad-300-end");
  assert.ok(padded.length > 0 && padded.every((c) => c.maxTokens === 2048 && c.truncation === "error"));

  // the viewer: filter by transform; a padded example's inserted parts marked, its prompt as scored
  run.store.close();
  const registry = await RunRegistry.open([join(work, "run")]);
  const server = createViewServer(registry);
  const url = await listen(server, 0, "127.0.0.1");
  try {
    const info = await (await fetch(new URL("/api/runs/run", url))).json();
    const transforms = new Set(info.evaluations.map((e: { transform: string }) => e.transform));
    for (const t of ["none", "pad-0", "pad-300-start", "inject-fake_verdict-start-positives"])
      assert.ok(transforms.has(t), `${t} in ${[...transforms]}`);
    const cell = info.evaluations.find((e: { task: string }) => e.task === "agent_dangerous~pad-300-end");
    const first = (await (await fetch(new URL(`/api/runs/run/evals/${cell.key}/examples?limit=1`, url))).json())
      .rows[0];
    const one = await (
      await fetch(new URL(`/api/runs/run/evals/${cell.key}/examples/${encodeURIComponent(first.id)}`, url))
    ).json();
    assert.equal(one.transform.id, "pad-300-end");
    const inserted = one.highlights.filter((h: { fact: string }) => h.fact === "inserted");
    assert.ok(inserted.length > 0);
    assert.equal(inserted[0].start, 0, "the original at the end: padding first");
    assert.ok(one.prompt.length > one.text.length && !one.truncated);
  } finally {
    server.close();
    registry.close();
  }
});

test("crossmon plan prices both questions: their cells and the paired difference each is about", () => {
  const spec = tinySpec(base, {
    experiments: {
      context_length: { task: "agent_dangerous", lengths: [0, 300] },
      evasion: { task: "agent_dangerous", attacks: ["fake_verdict"] },
    },
  });
  const p = planSpec(spec);
  assert.deepEqual(
    p.questions.map((q) => [q.question, q.comparison]),
    [
      ["context_length", "padded − clean, same model"],
      ["evasion", "attacked − clean, same model"],
    ],
  );
  // untrained + in-domain, each on the clean text at the long budget, its validation, and one padded length
  assert.equal(p.questions[0].eval_cells, 2 * 3);
});

test("bad robustness specs: one line naming the field, before any work", async () => {
  const plan = (experiments: Record<string, unknown>) => planRun(tinySpec(base, { experiments }), () => {});
  await assert.rejects(
    plan({ evasion: { task: "agent_dangerous", attacks: ["fake_verdict"], train_with: ["fake_verdict"] } }),
    /experiments\.evasion\.train_with: "fake_verdict" is held out by the attack library for evaluation/,
  );
  await assert.rejects(
    plan({ evasion: { task: "agent_dangerous", attacks: ["zero_width"], train_with: ["zero_width"] } }),
    /experiments\.evasion\.train_with: "zero_width" is also in attacks; a monitor is never scored on an attack/,
  );
  assert.throws(
    () => tinySpec(base, { experiments: { evasion: { task: "agent_dangerous", attacks: ["sorcery"] } } }),
    /experiments\.evasion\.attacks\.0.*unknown attack family "sorcery" \(known: reviewer_note/,
  );
  await assert.rejects(
    plan({ context_length: { task: "agent_dangerous", lengths: [4000] } }),
    /experiments\.context_length\.lengths: 4000 tokens and the prompt \(256 kept for it\) pass the model's context of 2048 positions; use lengths up to 1792, or truncate: middle/,
  );
  await assert.rejects(
    plan({ context_length: { task: "agent_dangerous", lengths: [100], pad_from: "nope" } }),
    /experiments\.context_length\.from: unknown task "nope"|experiments\.context_length: unknown task "nope"/,
  );
  await assert.rejects(
    plan({ context_length: { task: "no_such_task", lengths: [100] } }),
    /experiments\.context_length: unknown task "no_such_task"/,
  );
});
