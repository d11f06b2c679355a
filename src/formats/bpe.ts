/**
 * Training a byte-level BPE tokenizer (GPT-2 style, as Hugging Face's ByteLevel pre-tokenizer and BPE model define
 * it) and writing it as tokenizer.json, which @huggingface/tokenizers and transformers load as they are.
 * @huggingface/tokenizers can only apply a tokenizer, not train one, hence this small trainer.
 */

/** GPT-2's map from bytes to printable characters. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCharCode(cs[i])));
  return out;
}

/** The pre-tokenisation regex of GPT-2 (what ByteLevel with use_regex applies). */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeTrainOptions {
  vocabSize: number;
  specialTokens: string[];
  /** a pre-token seen fewer times than this is left out of the statistics */
  minFrequency?: number;
}

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
  specialTokens: string[];
}

export function trainBpe(texts: Iterable<string>, o: BpeTrainOptions): TrainedBpe {
  const b2u = bytesToUnicode();
  const enc = new TextEncoder();
  const wordCounts = new Map<string, number>();
  for (const t of texts) {
    for (const m of t.matchAll(GPT2_SPLIT)) {
      const w = Array.from(enc.encode(m[0]), (b) => b2u[b]).join("");
      wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
    }
  }
  const vocab = new Map<string, number>();
  for (const s of o.specialTokens) vocab.set(s, vocab.size);
  const symbols: string[] = [];
  const symId = new Map<string, number>();
  const addSymbol = (s: string) => {
    symId.set(s, symbols.length);
    symbols.push(s);
    vocab.set(s, vocab.size);
  };
  for (const c of [...b2u].sort()) addSymbol(c);
  // words as arrays of symbol ids
  const minF = o.minFrequency ?? 1;
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of [...wordCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (c < minF) continue;
    words.push(Array.from(w, (ch) => symId.get(ch)!));
    counts.push(c);
  }
  const key = (a: number, b: number) => a * 1_048_576 + b;
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = key(w[i], w[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let s = where.get(k);
        if (!s) {
          s = new Set();
          where.set(k, s);
        }
        s.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addPairs(wi, 1));
  const merges: [string, string][] = [];
  while (vocab.size < o.vocabSize) {
    let best = -1,
      bestCount = 0,
      bestName = "";
    for (const [k, c] of pairCount) {
      if (c <= 0) continue;
      if (
        c > bestCount ||
        (c === bestCount && symbols[Math.floor(k / 1_048_576)] + symbols[k % 1_048_576] < bestName)
      ) {
        best = k;
        bestCount = c;
        bestName = symbols[Math.floor(k / 1_048_576)] + symbols[k % 1_048_576];
      }
    }
    if (best < 0 || bestCount < 2) break;
    const a = Math.floor(best / 1_048_576),
      b = best % 1_048_576;
    const merged = symbols[a] + symbols[b];
    merges.push([symbols[a], symbols[b]]);
    if (!symId.has(merged)) addSymbol(merged);
    const m = symId.get(merged)!;
    for (const wi of [...(where.get(best) ?? [])]) {
      addPairs(wi, -1);
      const w = words[wi];
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(m);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    where.delete(best);
  }
  return { vocab, merges, specialTokens: o.specialTokens };
}

/** tokenizer.json for a trained byte-level BPE; special tokens are added tokens, never split. */
export function tokenizerJson(bpe: TrainedBpe): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: bpe.specialTokens.map((content) => ({
      id: bpe.vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
