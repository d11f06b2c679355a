/**
 * One interface for every place a model runs: score (log-probabilities of chosen next tokens after a prompt),
 * generate, and, where the backend can, train. The study's recipes use only this; a backend that cannot do a step
 * says so through its capabilities, and the runner reports which step it could not run.
 */
import type { TrainSpec } from "../train/spec.js";

export interface GenerateRequest {
  prompt: number[];
  maxNewTokens: number;
  temperature: number;
  topP?: number;
  seed: number;
  stop?: string[];
}

export interface Generated {
  text: string;
  ids: number[];
  finishReason: "stop" | "length";
}

/** A model as the study names it: a base and optionally an adapter (or a fully trained model folder). */
export interface ModelRef {
  base: string;
  adapter?: string;
  /** a model a hosted API serves under this name (a fine-tuned model), scored there; base then names the tokenizer */
  hosted?: string;
}

/** Where a training backend keeps what it must not lose to a kill (a hosted job's id): the run's store. */
export interface TrainState {
  get(): unknown;
  set(value: unknown): void;
}

export interface TrainOptions {
  quiet?: boolean;
  log?: (l: string) => void;
  context?: unknown;
  state?: TrainState;
}

export interface ScorePrompt {
  /** the rendered prompt, ending where the answer goes */
  ids: number[];
  /** the same prompt as chat messages, for servers that apply their own chat template */
  messages?: { role: string; content: string }[];
}

export interface Candidate {
  id: number;
  text: string;
}

export interface Backend {
  readonly name: string;
  readonly capabilities: { score: boolean; generate: boolean; train: boolean };
  /** training says what a person waits on (a hosted job's status): the runner passes its log lines on */
  readonly reportsTraining?: boolean;
  /** log P(candidate | prompt) for each prompt and candidate token */
  score(model: ModelRef, prompts: ScorePrompt[], candidates: Candidate[]): Promise<number[][]>;
  generate(model: ModelRef, requests: GenerateRequest[]): Promise<Generated[]>;
  /** trains and returns the model it produced */
  train(spec: TrainSpec, dir: string, o?: TrainOptions): Promise<ModelRef>;
  /**
   * Called once before a run's training cells with every one still to train: a backend that trains for money says
   * what it will cost and asks before spending (states as the cells' train() calls will see them).
   */
  prepareTraining?(
    cells: { spec: TrainSpec; state?: TrainState }[],
    o: { context?: unknown; log: (l: string) => void },
  ): Promise<void>;
}

export class UnsupportedStep extends Error {
  constructor(backend: string, step: string) {
    super(`backend "${backend}" cannot ${step}`);
    this.name = "UnsupportedStep";
  }
}
