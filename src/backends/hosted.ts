/**
 * Training cells on an OpenAI-compatible fine-tuning API, scoring through the same API's chat completions.
 *
 * A cell's mixture is built exactly as for local training (the same items, the same dilution) and uploaded as the
 * export writes it (chat JSONL, weight 1 on answers only); one fine-tuning job per stage, a later stage starting from
 * the model the earlier one produced. Before anything is uploaded, the run's remaining cells are estimated (examples,
 * training tokens counted with the spec's tokenizer, and a cost where a price is given) and the user is asked, unless
 * --yes. The file and job ids are kept in the run's store as soon as the API returns them: a killed run resumes polling
 * the same job instead of paying for a second one. A failed or cancelled job is an error naming it, and is forgotten,
 * so that running again starts a new job. 429s and 5xx are retried with backoff by the openai SDK.
 */
import OpenAI, { toFile } from "openai";
import { InputError } from "../core/errors.js";
import { toOpenAIJsonl } from "../mix/export.js";
import { buildMixture, type MixItem } from "../mix/mixture.js";
import { mixtureOf, type TrainContext, trainingContext } from "../train/run.js";
import type { TrainSpec } from "../train/spec.js";
import { OpenAIBackend } from "./openai.js";
import type {
  Backend,
  Candidate,
  GenerateRequest,
  Generated,
  ModelRef,
  ScorePrompt,
  TrainOptions,
  TrainState,
} from "./types.js";
import { UnsupportedStep } from "./types.js";

export interface HostedOptions {
  baseURL: string;
  /** the model to score untrained and to fine-tune */
  model: string;
  apiKeyEnv?: string;
  /** "hosted": training cells become fine-tuning jobs; "none": this backend only scores */
  train: "hosted" | "none";
  /** price of a million training tokens, for the estimate (none: tokens only) */
  pricePerMillionTokens?: number;
  pollSeconds?: number;
  /** start paid work without asking */
  yes?: boolean;
  /** asks the user (on a terminal); absent and without yes, paid work is refused with the estimate */
  approve?: (question: string) => Promise<boolean>;
  concurrency?: number;
  maxRetries?: number;
}

/** What the store keeps per training cell: one entry per stage, filled in as the API answers. */
interface StageState {
  file_id?: string;
  job_id?: string;
  model?: string;
}
interface CellState {
  stages: StageState[];
}

const TERMINAL_FAILURES = new Set(["failed", "cancelled"]);

function stateOf(s: TrainState | undefined): CellState {
  const v = s?.get() as CellState | undefined;
  return v && Array.isArray(v.stages) ? v : { stages: [] };
}

export class HostedBackend implements Backend {
  readonly name: string;
  readonly capabilities: { score: boolean; generate: boolean; train: boolean };
  readonly reportsTraining = true;
  private client: OpenAI;
  private scorers = new Map<string, OpenAIBackend>();

  constructor(readonly o: HostedOptions) {
    this.name = `hosted:${o.model}`;
    this.capabilities = { score: true, generate: false, train: o.train === "hosted" };
    this.client = new OpenAI({
      baseURL: o.baseURL,
      apiKey: process.env[o.apiKeyEnv ?? "OPENAI_API_KEY"] ?? "not-needed",
      maxRetries: o.maxRetries ?? 4,
    });
  }

  private scorer(model: string): OpenAIBackend {
    let s = this.scorers.get(model);
    if (!s) {
      s = new OpenAIBackend({
        baseURL: this.o.baseURL,
        model,
        mode: "chat",
        apiKeyEnv: this.o.apiKeyEnv,
        concurrency: this.o.concurrency,
        maxRetries: this.o.maxRetries,
      });
      this.scorers.set(model, s);
    }
    return s;
  }

  score(ref: ModelRef, prompts: ScorePrompt[], candidates: Candidate[]): Promise<number[][]> {
    const model = ref.hosted ?? this.o.model;
    return this.scorer(model).score({ base: model }, prompts, candidates);
  }

  async generate(_ref: ModelRef, _reqs: GenerateRequest[]): Promise<Generated[]> {
    throw new UnsupportedStep(this.name, "generate (thinking and summaries need scoring inside a reply)");
  }

  /** Each stage's mixture, as local training would build it. */
  private stagesOf(spec: TrainSpec, ctx: TrainContext): { items: MixItem[]; epochs: number }[] {
    return spec.stages.map((st, i) => {
      const epochs = st.epochs ?? spec.hyper.epochs;
      if (!Number.isInteger(epochs))
        throw new InputError(`stage "${st.name}": hosted fine-tuning takes whole epochs, got ${epochs}`);
      const mix = buildMixture(mixtureOf(spec, i), ctx.splits, ctx.ifPool, ctx.renderer);
      return { items: mix.items, epochs };
    });
  }

  async prepareTraining(
    cells: { spec: TrainSpec; state?: TrainState }[],
    o: { context?: unknown; log: (l: string) => void },
  ): Promise<void> {
    if (this.o.train !== "hosted" || !cells.length) return;
    let examples = 0;
    let tokens = 0;
    let jobs = 0;
    for (const c of cells) {
      const ctx = (o.context as TrainContext | undefined) ?? (await trainingContext(c.spec));
      const st = stateOf(c.state);
      this.stagesOf(c.spec, ctx).forEach((s, i) => {
        if (st.stages[i]?.job_id || st.stages[i]?.model) return; // already paid for
        jobs++;
        examples += s.items.length;
        tokens += s.epochs * s.items.reduce((n, it) => n + it.ids.length, 0);
      });
    }
    if (!jobs) return;
    const price = this.o.pricePerMillionTokens;
    const cost = price === undefined ? "" : ` ≈ $${((tokens / 1e6) * price).toFixed(2)} at $${price} per million`;
    const summary =
      `hosted fine-tuning of ${this.o.model} at ${this.o.baseURL}: ${jobs} job(s), ${examples} examples, ` +
      `≈${tokens} training tokens (counted with the spec's tokenizer)${cost}`;
    o.log(summary);
    if (this.o.yes) return;
    if (!this.o.approve) throw new InputError(`${summary}: pass --yes to start it`);
    if (!(await this.o.approve(`${summary}. Start? [y/N] `)))
      throw new InputError("hosted fine-tuning not started (answered no)");
  }

  async train(spec: TrainSpec, _dir: string, o: TrainOptions = {}): Promise<ModelRef> {
    if (this.o.train !== "hosted")
      throw new UnsupportedStep(this.name, "train (set backend.train: hosted to fine-tune through the API)");
    const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const ctx = (o.context as TrainContext | undefined) ?? (await trainingContext(spec));
    const state = stateOf(o.state);
    const save = () => o.state?.set(state);
    let model = this.o.model;
    for (const [i, stage] of this.stagesOf(spec, ctx).entries()) {
      state.stages[i] ??= {};
      const st = state.stages[i];
      if (!st.model) {
        if (!st.file_id) {
          const file = await this.client.files.create({
            file: await toFile(Buffer.from(toOpenAIJsonl(stage.items)), `crossmon-${spec.stages[i].name}.jsonl`),
            purpose: "fine-tune",
          });
          st.file_id = file.id;
          save();
        }
        if (!st.job_id) {
          const job = await this.client.fineTuning.jobs.create({
            model,
            training_file: st.file_id,
            seed: spec.seed,
            suffix: "crossmon",
            method: { type: "supervised", supervised: { hyperparameters: { n_epochs: stage.epochs } } },
          });
          st.job_id = job.id;
          save();
          log(
            `fine-tuning job ${job.id} created (stage ${i + 1}/${spec.stages.length}, ${stage.items.length} examples)`,
          );
        } else log(`fine-tuning job ${st.job_id}: resuming the wait`);
        st.model = await this.waitFor(st, save, log);
        save();
      }
      model = st.model;
    }
    return { base: spec.base_model, hosted: model };
  }

  /** Polls a job until it ends: its model, or an error naming it (then forgotten, so a rerun starts a new one). */
  private async waitFor(st: StageState, save: () => void, log: (l: string) => void): Promise<string> {
    const id = st.job_id!;
    let last = "";
    for (;;) {
      const job = await this.client.fineTuning.jobs.retrieve(id);
      if (job.status !== last) {
        const trained = job.trained_tokens ? `, ${job.trained_tokens} tokens trained` : "";
        log(`fine-tuning job ${id}: ${job.status}${trained}`);
        last = job.status;
      }
      if (job.status === "succeeded") {
        if (!job.fine_tuned_model) throw new Error(`fine-tuning job ${id} succeeded without a fine_tuned_model`);
        return job.fine_tuned_model;
      }
      if (TERMINAL_FAILURES.has(job.status)) {
        st.job_id = undefined;
        save();
        const why = job.error?.message ? `: ${job.error.message}` : "";
        throw new Error(`fine-tuning job ${id} ${job.status}${why} (run again to start a new job)`);
      }
      await new Promise((r) => setTimeout(r, (this.o.pollSeconds ?? 30) * 1000));
    }
  }
}
