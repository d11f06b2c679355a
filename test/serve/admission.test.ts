/** The admission queue without a model: its order, batches, limits, pause and shutdown, with a runner we control. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdmissionQueue, expandedLength } from "../../src/serve/admission.js";
import { HttpError } from "../../src/serve/http-error.js";
import type { ClassifyItem, ClassifyOutcome } from "../../src/serve/thread-protocol.js";

const verdict = (p: number): ClassifyOutcome => ({
  p_positive: p,
  label: p >= 0.5 ? "positive" : "negative",
  answer: p >= 0.5 ? "Yes" : "No",
  mass: 1,
  truncated: false,
  usage: { prompt_tokens: 1 },
});

/** A runner that records each batch and answers when told. */
function recordingRunner() {
  const batches: string[][] = [];
  const release: (() => void)[] = [];
  const runner = (items: ClassifyItem[]) => {
    batches.push(items.map((i) => i.prompt));
    return new Promise<ClassifyOutcome[]>((resolve) =>
      release.push(() => resolve(items.map((i) => verdict(Number(i.prompt))))),
    );
  };
  return { batches, release, runner };
}

const tick = () => new Promise((r) => setImmediate(r));

test("classify items wait while one batch runs and go together in the next, at most maxBatch at a time", async () => {
  const r = recordingRunner();
  const q = new AdmissionQueue(r.runner, { maxBatch: 2 });
  const answers = ["0.1", "0.9", "0.2", "0.8"].map((p) => q.classify({ prompt: p }));
  assert.deepEqual(r.batches, [["0.1"]], "the first runs alone at once");
  assert.equal(q.queued, 3);
  r.release.shift()?.();
  await tick();
  assert.deepEqual(r.batches[1], ["0.9", "0.2"], "the next batch is as large as allowed");
  r.release.shift()?.();
  await tick();
  r.release.shift()?.();
  const done = await Promise.all(answers);
  assert.deepEqual(
    done.map((d) => ("p_positive" in d ? d.p_positive : null)),
    [0.1, 0.9, 0.2, 0.8],
    "each item gets its own outcome",
  );
  assert.ok(q.idle);
});

test("classify batches go before generation jobs queued earlier; a failed batch fails each of its items", async () => {
  const r = recordingRunner();
  const q = new AdmissionQueue(r.runner);
  const order: string[] = [];
  const first = q.classify({ prompt: "0.5" });
  const job = q.run(async () => {
    order.push("job");
    return 7;
  });
  const second = q.classify({ prompt: "0.6" });
  r.release.shift()?.();
  await first;
  await tick();
  assert.deepEqual(r.batches[1], ["0.6"], "the waiting classify item runs before the job");
  assert.deepEqual(order, []);
  r.release.shift()?.();
  await second;
  assert.equal(await job, 7);
  assert.deepEqual(order, ["job"]);

  const failing = new AdmissionQueue(() => Promise.reject(new Error("thread gone")));
  const items = [failing.classify({ prompt: "1" }), failing.classify({ prompt: "2" })];
  for (const i of items) await assert.rejects(i, /thread gone/);
  assert.ok(failing.idle, "a failure frees the queue");
});

test("a full queue refuses with 429 and a closing one with 503, before anything is queued", async () => {
  const r = recordingRunner();
  const q = new AdmissionQueue(r.runner, { maxQueue: 2 });
  q.pause();
  const held = [q.classify({ prompt: "0.1" }), q.classify({ prompt: "0.2" })];
  assert.throws(
    () => q.classify({ prompt: "0.3" }),
    (e: unknown) => e instanceof HttpError && e.status === 429 && e.type === "rate_limit_error",
  );
  assert.throws(
    () => q.run(async () => 1),
    (e: unknown) => e instanceof HttpError && e.status === 429,
  );
  assert.deepEqual(r.batches, [], "paused: nothing ran");
  q.close();
  assert.throws(
    () => q.admit(),
    (e: unknown) => e instanceof HttpError && e.status === 503,
  );
  q.resume();
  r.release.shift()?.();
  await Promise.all(held);
  assert.ok(q.idle, "what was queued before the close still ran");
});

test("expandedLength counts every {text} slot (at least one: a plain question gets the text before it)", () => {
  assert.deepEqual(expandedLength("Is this bad?", "{text}", 100), { slots: 1, length: 112 });
  assert.deepEqual(expandedLength("{text} {text} {text}", "{text}", 10), { slots: 3, length: 50 });
});
