/**
 * The served model, in a thread of its own: tokenising, rendering, scoring and generating all happen here, so the
 * server's event loop only parses requests, admits or refuses them, and writes answers (GET /v1/models stays quick
 * while a long generation runs). One request at a time arrives from the server (classify requests in batches), as a
 * message; the answer goes back as one, or an error with the HTTP status it deserves.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LocalBackend } from "../backends/local.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, TEXT_SLOT, type Task } from "../data/task.js";
import { generate } from "../engine/generate.js";
import { nextTokenLogprobs } from "../engine/score.js";
import { Renderer } from "../formats/render.js";
import { answerProbability } from "../eval/answer-probability.js";
import {
  Refusal,
  type ClassifyItem,
  type ClassifyOutcome,
  type GenerateParams,
  type Generated,
  type ThreadAnswer,
  type ThreadOptions,
  type ThreadRequest,
  type ThreadResult,
  type ThreadStartup,
} from "./thread-protocol.js";
import { topIds } from "./top-logprobs.js";

const o = workerData as ThreadOptions;
const backend = new LocalBackend();
const ref = { base: o.model, adapter: o.adapter };

function start() {
  const { model, tok } = backend.load(ref);
  const renderer = new Renderer(tok, o.maxTokens);
  const context = model.config.maxPositions;
  const promptLimit = o.maxPromptTokens > 0 ? Math.min(o.maxPromptTokens, context) : context;
  const eos = tok.eosToken ? tok.tokenId(tok.eosToken) : undefined;
  const stopIds = [...model.config.eosTokenIds, ...(eos !== undefined ? [eos] : [])];
  const name = (i: number) => tok.decode([i]);

  const topLogprobs = (lp: Float32Array, k: number) =>
    topIds(lp, k).map((i) => ({ token: name(i), logprob: lp[i], bytes: Array.from(Buffer.from(name(i))) }));

  const checkPrompt = (n: number, maxNew: number) => {
    if (n === 0) throw new Refusal(400, 'field "prompt": no tokens');
    if (n > promptLimit)
      throw new Refusal(
        400,
        `the prompt is ${n} tokens, more than the limit of ${promptLimit} ` +
          `(--max-prompt-tokens; the model has ${context} positions)`,
      );
    if (n + maxNew > context)
      throw new Refusal(
        400,
        `the prompt (${n} tokens) and max_tokens (${maxNew}) exceed the model's ${context} positions`,
      );
  };

  const classifyOne = (item: ClassifyItem) => {
    const prompt = item.prompt.includes(TEXT_SLOT) ? item.prompt : `${TEXT_SLOT}\n\n${item.prompt}`;
    const task: Task = {
      id: "request",
      domain: "request",
      prompt,
      labels: { ...DEFAULT_LABELS },
      answers: {
        positive: item.positive ?? DEFAULT_ANSWERS.positive,
        negative: item.negative ?? DEFAULT_ANSWERS.negative,
      },
      examples: [],
      source: "serve",
    };
    let r: ReturnType<Renderer["singleToken"]>;
    try {
      r = renderer.singleToken(task, { id: "x", text: item.text, messages: item.messages, label: false });
    } catch (e) {
      throw new Refusal(400, (e as Error).message);
    }
    if (r.candidates[0] === r.candidates[1]) {
      throw new Refusal(
        400,
        `fields "positive" and "negative": both are token ${r.candidates[0]} ` +
          `(${JSON.stringify(task.answers.positive)}); ` +
          "they must be two different tokens",
      );
    }
    return { task, r };
  };

  const classify = (items: ClassifyItem[]): ClassifyOutcome[] => {
    const rendered = items.map((item) => {
      try {
        return classifyOne(item);
      } catch (e) {
        return e instanceof Refusal ? e : new Refusal(500, (e as Error).message);
      }
    });
    const ok = rendered.filter((x) => !(x instanceof Refusal)) as ReturnType<typeof classifyOne>[];
    const lps = nextTokenLogprobs(
      model,
      ok.map((x) => x.r.promptIds),
      Math.max(1, ok.length),
    );
    let at = 0;
    return rendered.map((x) => {
      if (x instanceof Refusal) return { error: x.message, status: x.status };
      const { task, r } = x;
      const lp = lps[at++];
      let answered: { p: number; mass: number };
      try {
        answered = answerProbability(lp[r.candidates[0]], lp[r.candidates[1]], o.adapter ?? o.model);
      } catch (e) {
        // never a verdict from a broken model: the request gets a 500 naming it
        return { error: (e as Error).message, status: 500 };
      }
      const { p, mass } = answered;
      return {
        p_positive: p,
        label: p >= 0.5 ? ("positive" as const) : ("negative" as const),
        answer: p >= 0.5 ? task.answers.positive : task.answers.negative,
        mass,
        truncated: r.truncated,
        usage: { prompt_tokens: r.promptIds.length },
      };
    });
  };

  const generateFor = (ids: number[], params: GenerateParams, k: number): Generated => {
    const maxNew = params.max_tokens;
    checkPrompt(ids.length, maxNew);
    const steps: { id: number; lp: Float32Array }[] = [];
    const g = generate(model, ids, {
      maxNewTokens: maxNew,
      temperature: params.temperature ?? 1,
      topP: params.top_p,
      seed: params.seed ?? 0,
      stopTokenIds: stopIds,
      stopStrings: params.stop === undefined ? undefined : Array.isArray(params.stop) ? params.stop : [params.stop],
      decode: (x) => tok.decode(x, true),
      onToken: k >= 0 ? (id, lp) => steps.push({ id, lp }) : undefined,
    });
    const content =
      k >= 0
        ? steps.slice(0, g.ids.length).map((s) => ({
            token: name(s.id),
            logprob: s.lp[s.id],
            bytes: Array.from(Buffer.from(name(s.id))),
            top_logprobs: topLogprobs(s.lp, k),
          }))
        : null;
    return {
      kind: "generated",
      promptTokens: ids.length,
      text: g.text ?? "",
      finishReason: g.finishReason,
      completionTokens: g.ids.length,
      content,
    };
  };

  const handle = (q: ThreadRequest): ThreadResult => {
    if (q.op === "classify") return { op: q.op, result: classify(q.items) };
    if (q.op === "chat") {
      const ids = tok.encodeChat(q.messages, { addGenerationPrompt: true });
      return { op: q.op, result: generateFor(ids, q.params, q.topLogprobs) };
    }
    const ids = tok.encode(q.prompt);
    if (q.params.max_tokens === 0) {
      // only the next-token distribution (as a 1-token scoring call would need)
      checkPrompt(ids.length, 0);
      const [lp] = nextTokenLogprobs(model, [ids], 1);
      const next = topLogprobs(lp, Math.max(1, q.topLogprobs));
      return { op: q.op, result: { kind: "next", promptTokens: ids.length, next } };
    }
    return { op: q.op, result: generateFor(ids, q.params, q.topLogprobs) };
  };

  parentPort?.on("message", (q: ThreadRequest) => {
    let answer: ThreadAnswer;
    try {
      answer = { id: q.id, ok: true, ...handle(q) };
    } catch (e) {
      const status = e instanceof Refusal ? e.status : 500;
      answer = { id: q.id, ok: false, status, message: (e as Error).message };
    }
    parentPort?.postMessage(answer);
  });
  const ready: ThreadStartup = { ready: true, context, promptLimit };
  parentPort?.postMessage(ready);
}

try {
  start();
} catch (e) {
  const failed: ThreadStartup = { failed: (e as Error).message };
  parentPort?.postMessage(failed);
}
