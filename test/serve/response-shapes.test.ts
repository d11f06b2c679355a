/** The server's small pure parts: the top log-probabilities of a distribution, response ids, max_tokens defaults. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { responseId } from "../../src/serve/response-id.js";
import { DEFAULT_MAX_TOKENS } from "../../src/serve/schemas.js";
import { MonitorServer } from "../../src/serve/server.js";
import { topIds } from "../../src/serve/top-logprobs.js";
import { randomArray } from "../helpers.js";
import { toyBase } from "../train/toy-base.js";

test("topIds: the k largest, most likely first, ties by lower id: the same as sorting the whole vocabulary", () => {
  const bySort = (lp: Float32Array, k: number) =>
    Array.from(lp.keys())
      .sort((a, b) => lp[b] - lp[a] || a - b)
      .slice(0, k);
  for (const [n, seed] of [
    [1, 1],
    [5, 2],
    [300, 3],
    [5000, 4],
  ]) {
    const lp = randomArray(n, seed, 10);
    // ties, and the largest value repeated
    if (n > 10) for (let i = 0; i < 10; i++) lp[i * 7] = lp[3];
    for (const k of [0, 1, 2, 5, 20, n + 3]) assert.deepEqual(topIds(lp, k), bySort(lp, k), `n ${n}, k ${k}`);
  }
  assert.deepEqual(topIds(new Float32Array([-1, -1, -1]), 2), [0, 1]);
});

test("response ids are unique within a millisecond and shaped as OpenAI's", () => {
  const ids = Array.from({ length: 5000 }, (_, i) => responseId(i % 2 ? "cmpl" : "chatcmpl"));
  assert.equal(new Set(ids).size, ids.length);
  assert.match(ids[0], /^chatcmpl-[0-9a-f]{32}$/);
  assert.match(ids[1], /^cmpl-[0-9a-f]{32}$/);
});

test("max_tokens left out is one stated default per endpoint, the same where it is checked and where it is used", async () => {
  const server = new MonitorServer({ model: toyBase(), port: 0 });
  const { port } = await server.listen();
  const post = async (path: string, body: unknown) =>
    (await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json())) as { usage: { completion_tokens: number }; choices: { finish_reason: string }[] };
  try {
    // a toy model at temperature 2 seldom stops by itself: some of these run to the limit
    const counts = { completion: [] as number[], chat: [] as number[] };
    for (let seed = 0; seed < 6; seed++) {
      const c = await post("/v1/completions", { prompt: "Once upon a time", temperature: 2, seed });
      counts.completion.push(c.usage.completion_tokens);
      const m = await post("/v1/chat/completions", {
        messages: [{ role: "user", content: "Tell me a story." }],
        temperature: 2,
        seed,
      });
      counts.chat.push(m.usage.completion_tokens);
    }
    for (const kind of ["completion", "chat"] as const) {
      const most = Math.max(...counts[kind]);
      assert.ok(most <= DEFAULT_MAX_TOKENS[kind], `${kind}: ${counts[kind]} past ${DEFAULT_MAX_TOKENS[kind]}`);
      assert.equal(most, DEFAULT_MAX_TOKENS[kind], `${kind}: ${counts[kind]}, none reached the default`);
    }
  } finally {
    await server.close();
  }
});
