/**
 * The built-in task world: texts from eight domains generated from latent facts, each text asked under two prompts.
 * Seeded and sized by a knob; nothing in it was tuned to produce an experimental outcome.
 */
import type { Task } from "../task.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS } from "../task.js";
import { deriveSeed } from "../../core/random.js";
import { Gen, type DomainSpec } from "./gen.js";
import { reviews } from "./domains/reviews.js";
import { chemChats, cyberChats } from "./domains/harmchat.js";
import { agentTranscripts } from "./domains/agent.js";
import { covertReasoning } from "./domains/covert.js";
import { phishing } from "./domains/phishing.js";
import { codeChanges } from "./domains/code.js";
import { supportTickets } from "./domains/support.js";

export const WORLD_DOMAINS: DomainSpec[] = [
  reviews,
  chemChats,
  cyberChats,
  agentTranscripts,
  covertReasoning,
  phishing,
  codeChanges,
  supportTickets,
];

export interface WorldOptions {
  seed?: number;
  /** distinct texts per domain (each appears in every task of its domain) */
  size?: number;
}
export const DEFAULT_WORLD_SIZE = 1500;

export interface WorldDomainTexts {
  spec: DomainSpec;
  texts: { text: string; facts: Record<string, unknown> }[];
}

/**
 * Generates each domain's distinct texts: duplicates are drawn again, so every text is unique within its domain.
 * Positives and negatives of the domain's first task are capped at half the size each, so rejecting duplicates
 * (more common on the side with fewer templates) cannot skew the balance.
 */
export function generateWorldTexts(o: WorldOptions = {}): WorldDomainTexts[] {
  const seed = o.seed ?? 0;
  const size = o.size ?? DEFAULT_WORLD_SIZE;
  return WORLD_DOMAINS.map((spec) => {
    const g = new Gen(deriveSeed(seed, spec.domain));
    const seen = new Set<string>();
    const texts: WorldDomainTexts["texts"] = [];
    const cap = { true: Math.ceil(size / 2), false: Math.ceil(size / 2) };
    const primary = spec.tasks[0].label;
    for (let tries = 0; texts.length < size && tries < size * 50; tries++) {
      const t = spec.generate(g);
      const side = String(primary(t.facts)) as "true" | "false";
      if (seen.has(t.text) || cap[side] === 0) continue;
      seen.add(t.text);
      cap[side]--;
      texts.push(t);
    }
    if (texts.length < size)
      throw new Error(`world domain ${spec.domain}: only ${texts.length} distinct texts for size ${size}`);
    return { spec, texts };
  });
}

export function buildWorld(o: WorldOptions = {}): Task[] {
  return generateWorldTexts(o).flatMap(({ spec, texts }) =>
    spec.tasks.map((t) => ({
      id: t.id,
      domain: spec.domain,
      prompt: t.prompt,
      labels: { ...DEFAULT_LABELS },
      answers: { ...DEFAULT_ANSWERS },
      source: `builtin:world(seed=${o.seed ?? 0},size=${o.size ?? DEFAULT_WORLD_SIZE})`,
      examples: texts.map((x, i) => ({
        id: `${spec.domain}-${i}`,
        text: x.text,
        label: t.label(x.facts),
        facts: x.facts,
      })),
    })),
  );
}
