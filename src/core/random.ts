import { fnv1a } from "./hash.js";

/**
 * The seed of one named use of a seed ("stage.0.mixture", "pretrain.world", a world's domain): each use draws its own
 * stream, a new use never shifts another's, and the name says in the code what the stream is for. FNV-1a over
 * "SEED\0NAME" (the world's domains have always been drawn this way, so their texts are unchanged).
 */
export function deriveSeed(seed: number, stream: string): number {
  if (!Number.isSafeInteger(seed)) throw new Error(`deriveSeed: seed ${seed} is not an integer`);
  return fnv1a(`${seed}\0${stream}`);
}

/** A small seeded generator (mulberry32), so training, dropout and sampling repeat exactly for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Shuffles in place (Fisher–Yates from the end) and returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  state(): number {
    return this.s;
  }
  static fromState(s: number): Rng {
    return new Rng(s);
  }
}
