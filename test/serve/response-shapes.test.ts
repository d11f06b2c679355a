/**
 * The server's small pure parts: OpenAI's response shapes, the top log-probabilities of a distribution, response ids,
 * max_tokens defaults.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { responseId } from "../../src/serve/response-id.js";
import { chatCompletion, errorBody, modelList, textCompletion } from "../../src/serve/responses.js";
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

const stamp = { id: "cmpl-1", created: 1700000000, model: "m" };
const tok = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token)] });

test("chat completion: OpenAI's shape, logprobs as content entries only when asked for, usage summed", () => {
  const generated = {
    kind: "generated" as const,
    promptTokens: 12,
    completionTokens: 2,
    text: "No.",
    finishReason: "stop",
    content: [
      { ...tok("No", -0.1), top_logprobs: [tok("No", -0.1), tok("Yes", -2.4)] },
      { ...tok(".", -0.01), top_logprobs: [] },
    ],
  };
  const r = chatCompletion({ ...stamp, id: "chatcmpl-1" }, generated);
  assert.deepEqual(r, {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1700000000,
    model: "m",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "No." },
        logprobs: { content: generated.content },
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
  });
  assert.equal(chatCompletion(stamp, { ...generated, content: null }).choices[0].logprobs, null);
});

test("text completion: parallel logprob lists, top ones as maps; max_tokens 0 gives only the next-token map", () => {
  const r = textCompletion(stamp, {
    kind: "generated",
    promptTokens: 3,
    completionTokens: 2,
    text: " Yes!",
    finishReason: "length",
    content: [
      { ...tok(" Yes", -0.5), top_logprobs: [tok(" Yes", -0.5), tok(" No", -1)] },
      { ...tok("!", -3), top_logprobs: [tok("!", -3)] },
    ],
  });
  assert.equal(r.object, "text_completion");
  assert.deepEqual(r.choices[0], {
    index: 0,
    text: " Yes!",
    logprobs: {
      tokens: [" Yes", "!"],
      token_logprobs: [-0.5, -3],
      top_logprobs: [{ " Yes": -0.5, " No": -1 }, { "!": -3 }],
      text_offset: [],
    },
    finish_reason: "length",
  });
  assert.deepEqual(r.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  const next = textCompletion(stamp, { kind: "next", promptTokens: 4, next: [tok("A", -0.2), tok("B", -1.7)] });
  assert.deepEqual(next.choices[0], {
    index: 0,
    text: "",
    logprobs: { tokens: [], token_logprobs: [], top_logprobs: [{ A: -0.2, B: -1.7 }], text_offset: [] },
    finish_reason: "length",
  });
  assert.deepEqual(next.usage, { prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
});

test("model list and error bodies as OpenAI writes them", () => {
  assert.deepEqual(modelList("m", 5), {
    object: "list",
    data: [{ id: "m", object: "model", created: 5, owned_by: "crossmon" }],
  });
  assert.deepEqual(errorBody(429, "full", "rate_limit_error"), {
    error: { message: "full", type: "rate_limit_error", code: 429 },
  });
});
