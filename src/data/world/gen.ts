/** Helpers shared by the world's generators: seeded choices, and the shape of a domain generator. */
import { Rng } from "../../core/random.js";

export class Gen {
  readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + this.rng.int(hi - lo + 1);
  }
  /** k distinct items, in random order */
  sample<T>(xs: readonly T[], k: number): T[] {
    return this.rng.shuffle([...xs]).slice(0, Math.min(k, xs.length));
  }
  shuffle<T>(xs: readonly T[]): T[] {
    return this.sample(xs, xs.length);
  }
  /** fills {slot} markers from a table of choices */
  fill(template: string, slots: Record<string, readonly string[] | string>): string {
    return template.replace(/\{(\w+)\}/g, (m, k: string) => {
      const v = slots[k];
      if (v === undefined) return m;
      return typeof v === "string" ? v : this.pick(v);
    });
  }
}

export interface WorldText {
  text: string;
  facts: Record<string, unknown>;
}

export interface WorldTaskSpec {
  id: string;
  prompt: string;
  /** the label, read from the text's latent facts */
  label: (facts: Record<string, unknown>) => boolean;
  /** what the label means, for the docs */
  rule: string;
}

export interface DomainSpec {
  domain: string;
  /** which of the paper's datasets it stands in for */
  analogue: string;
  generate(g: Gen): WorldText;
  tasks: WorldTaskSpec[];
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
