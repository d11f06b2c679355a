/** Generation with a KV cache: greedy or sampled (temperature, top-p), seeded, with stop tokens and stop strings. */
import { KVCache, type Transformer } from "./model.js";
import { Rng } from "../core/random.js";

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature?: number;
  topP?: number;
  seed?: number;
  stopTokenIds?: number[];
  stopStrings?: string[];
  /** needed for stop strings: turns generated ids into text */
  decode?: (ids: number[]) => string;
  /** called with each new token's log-softmax row (for logprobs in the server) */
  onToken?: (id: number, logprobs: Float32Array) => void;
}

export interface Generation {
  ids: number[];
  text?: string;
  finishReason: "stop" | "length";
}

export function generate(model: Transformer, prompt: ArrayLike<number>, o: GenerateOptions): Generation {
  if (prompt.length === 0) throw new Error("generate: empty prompt");
  const V = model.config.vocabSize;
  const cache = new KVCache(model.config, 1, prompt.length + o.maxNewTokens);
  const rng = new Rng(o.seed ?? 0);
  const stopIds = new Set(o.stopTokenIds ?? model.config.eosTokenIds);
  const out: number[] = [];
  let input = Int32Array.from(prompt);
  for (let step = 0; step < o.maxNewTokens; step++) {
    const T = input.length;
    const { logits } = model.forward({ tokens: input, B: 1, T, validLen: null }, Int32Array.of(T - 1), { cache });
    const row = logits.subarray(0, V);
    const id = pickToken(row, o.temperature ?? 0, o.topP ?? 1, rng);
    if (o.onToken) o.onToken(id, logSoftmaxCopy(row));
    if (stopIds.has(id)) return finish(out, "stop", o);
    out.push(id);
    if (o.stopStrings?.length && o.decode) {
      const text = o.decode(out);
      for (const s of o.stopStrings) {
        const at = text.indexOf(s);
        if (at >= 0) return { ids: out, text: text.slice(0, at), finishReason: "stop" };
      }
    }
    input = Int32Array.of(id);
  }
  return finish(out, "length", o);
}

function finish(ids: number[], reason: "stop" | "length", o: GenerateOptions): Generation {
  return { ids, text: o.decode ? o.decode(ids) : undefined, finishReason: reason };
}

function logSoftmaxCopy(row: Float32Array): Float32Array {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i]);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - mx);
  const lse = mx + Math.log(s);
  return row.map((x) => x - lse);
}

/** Greedy at temperature 0 (lowest id wins ties); otherwise softmax(logits / T) restricted to the top-p nucleus. */
export function pickToken(logits: Float32Array, temperature: number, topP: number, rng: Rng): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    p[i] = Math.exp((logits[i] - mx) / temperature);
    sum += p[i];
  }
  let ids: number[];
  if (topP < 1) {
    ids = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    let acc = 0;
    let cut = ids.length;
    for (let i = 0; i < ids.length; i++) {
      acc += p[ids[i]] / sum;
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    ids = ids.slice(0, cut);
    sum = ids.reduce((s, i) => s + p[i], 0);
  } else ids = Array.from(p.keys());
  let u = rng.next() * sum;
  for (const i of ids) {
    u -= p[i];
    if (u <= 0) return i;
  }
  return ids[ids.length - 1];
}
