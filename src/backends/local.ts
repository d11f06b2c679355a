/** The in-process engine as a backend: one loaded base model per folder, adapters swapped in as asked. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../engine/io/checkpoint.js";
import { loadAdapter } from "../engine/io/peft.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { removeLora } from "../engine/lora.js";
import type { Transformer } from "../engine/model.js";
import { scoreNextTokens } from "../engine/score.js";
import { generate } from "../engine/generate.js";
import { runTraining, type TrainContext } from "../train/run.js";
import type { TrainSpec } from "../train/spec.js";
import type { Backend, Candidate, GenerateRequest, Generated, ModelRef, ScorePrompt } from "./types.js";

export class LocalBackend implements Backend {
  readonly name = "local";
  readonly capabilities = { score: true, generate: true, train: true };
  private models = new Map<string, { model: Transformer; tok: HfTokenizer; adapter: string | null }>();
  constructor(readonly batchSize = 8) {}

  /** The loaded model for a reference, with the right adapter attached (or a fully trained model folder). */
  load(ref: ModelRef): { model: Transformer; tok: HfTokenizer } {
    const full = ref.adapter && existsSync(join(ref.adapter, "config.json")) ? ref.adapter : null;
    const key = full ?? ref.base;
    let m = this.models.get(key);
    if (!m) {
      m = {
        model: loadModel(key),
        tok: HfTokenizer.load(existsSync(join(key, "tokenizer.json")) ? key : ref.base),
        adapter: null,
      };
      this.models.set(key, m);
    }
    const want = full ? null : (ref.adapter ?? null);
    if (m.adapter !== want) {
      removeLora(m.model);
      if (want) loadAdapter(m.model, want);
      m.adapter = want;
    }
    return m;
  }

  async score(ref: ModelRef, prompts: ScorePrompt[], candidates: Candidate[]): Promise<number[][]> {
    return scoreNextTokens(
      this.load(ref).model,
      prompts.map((p) => p.ids),
      candidates.map((c) => c.id),
      this.batchSize,
    );
  }

  async generate(ref: ModelRef, reqs: GenerateRequest[]): Promise<Generated[]> {
    const { model, tok } = this.load(ref);
    const eos = tok.eosToken ? tok.tokenId(tok.eosToken) : undefined;
    return reqs.map((r) => {
      const g = generate(model, r.prompt, {
        maxNewTokens: r.maxNewTokens,
        temperature: r.temperature,
        topP: r.topP,
        seed: r.seed,
        stopTokenIds: [...model.config.eosTokenIds, ...(eos !== undefined ? [eos] : [])],
        stopStrings: r.stop,
        decode: (ids) => tok.decode(ids, true),
      });
      return { text: g.text ?? "", ids: g.ids, finishReason: g.finishReason };
    });
  }

  async train(
    spec: TrainSpec,
    dir: string,
    o: { quiet?: boolean; log?: (l: string) => void; context?: unknown } = {},
  ): Promise<ModelRef> {
    const r = await runTraining(spec, dir, { ...o, context: o.context as TrainContext | undefined });
    return { base: spec.base_model, adapter: r.output };
  }
}
