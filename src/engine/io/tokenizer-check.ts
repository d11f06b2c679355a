/**
 * A tokenizer.json checked as Hugging Face's tokenizers library checks it when it loads one, since
 * @huggingface/tokenizers accepts what that library refuses and then tokenises differently: a BPE merge whose parts
 * or result are not in the vocabulary, an added token with empty content or no whole-number id. And a probe: a plain
 * sentence that comes out as one token per byte means the merges do not work (a warning, once per file).
 */
import { InputError } from "../../core/errors.js";

interface BpeModel {
  type?: string;
  vocab?: Record<string, number>;
  merges?: (string | [string, string])[];
}

export function checkTokenizerJson(json: Record<string, unknown>, file: string): void {
  const model = (json.model ?? {}) as BpeModel;
  if (model.type === "BPE" && model.vocab && Array.isArray(model.merges)) {
    const vocab = model.vocab;
    model.merges.forEach((m, i) => {
      const pair = typeof m === "string" ? m.split(" ") : m;
      if (!Array.isArray(pair) || pair.length !== 2 || pair.some((x) => typeof x !== "string" || x === ""))
        throw new InputError(`field "model.merges" [${i}]: ${JSON.stringify(m)} is not a pair of tokens`, file);
      for (const token of [pair[0], pair[1], pair[0] + pair[1]])
        if (!(token in vocab))
          throw new InputError(
            `field "model.merges" [${i}]: ${JSON.stringify(m)}: the token ${JSON.stringify(token)} is not in ` +
              "the vocabulary (Hugging Face's tokenizers refuses such a file)",
            file,
          );
    });
  }
  const added = json.added_tokens;
  if (added !== undefined && !Array.isArray(added)) throw new InputError('field "added_tokens" is not a list', file);
  for (const [i, t] of ((added ?? []) as { id?: unknown; content?: unknown }[]).entries()) {
    if (typeof t?.content !== "string" || t.content === "")
      throw new InputError(`field "added_tokens" [${i}]: a token with empty content`, file);
    if (typeof t.id !== "number" || !Number.isSafeInteger(t.id) || t.id < 0)
      throw new InputError(
        `field "added_tokens" [${i}] (${JSON.stringify(t.content)}): id is not a whole number`,
        file,
      );
  }
}

export const PROBE_TEXT = "The agent read the configuration file, then deleted the backups without asking the user.";

const warned = new Set<string>();

/** Warns (once per file) when the probe sentence comes out as one token per byte: merges that never apply. */
export function probeTokenizer(encode: (text: string) => number[], file: string): void {
  if (warned.has(file)) return;
  const n = encode(PROBE_TEXT).length;
  if (n >= Buffer.byteLength(PROBE_TEXT)) {
    warned.add(file);
    process.stderr.write(
      `crossmon: warning: ${file}: a plain English sentence of ${Buffer.byteLength(PROBE_TEXT)} bytes encodes as ` +
        `${n} tokens (one per byte or worse): its merges may be broken\n`,
    );
  }
}
