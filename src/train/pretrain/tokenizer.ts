/** The base model's tokenizer: byte-level BPE trained on a sample of the corpus, with the ChatML template. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateWorldTexts } from "../../data/world/index.js";
import { generateInstructionData } from "../../data/world/instructions.js";
import { trainBpe, tokenizerJson } from "../../formats/bpe.js";
import { pretrainInstructionSeed, pretrainWorldSeed } from "./streams.js";
import { CHAT_TEMPLATE, type PretrainOptions, SPECIAL_TOKENS } from "./recipe.js";

function writeTokenizer(dir: string, texts: string[], vocabSize: number): void {
  const bpe = trainBpe(texts, { vocabSize, specialTokens: SPECIAL_TOKENS, minFrequency: 2 });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(bpe)));
  const added = Object.fromEntries(
    SPECIAL_TOKENS.map((t) => [
      String(bpe.vocab.get(t)),
      { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  );
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify(
      {
        tokenizer_class: "PreTrainedTokenizerFast",
        chat_template: CHAT_TEMPLATE,
        eos_token: "<|im_end|>",
        pad_token: "<|endoftext|>",
        bos_token: null,
        unk_token: null,
        add_bos_token: false,
        added_tokens_decoder: added,
        model_max_length: 1024,
        clean_up_tokenization_spaces: false,
      },
      null,
      2,
    ),
  );
}

/** Trains the tokenizer on the world's texts, conversations and the layouts' own words, and writes it into `dir`. */
export function trainTokenizer(
  dir: string,
  o: Pick<Required<PretrainOptions>, "seed" | "worldPerDomain" | "ifSize" | "vocabSize">,
): void {
  const sample = [
    ...generateWorldTexts({ seed: pretrainWorldSeed(o.seed), size: Math.min(o.worldPerDomain, 1500) }).flatMap((d) =>
      d.texts.map((t) => t.text),
    ),
    ...generateInstructionData({ seed: pretrainInstructionSeed(o.seed), size: Math.min(o.ifSize, 4000) }).flatMap((c) =>
      c.messages.map((m) => m.content),
    ),
    // the layouts' own words, so answers and markers are single tokens
    ...Array.from(
      { length: 200 },
      () => "Answer with Yes or No.\n Yes\n No\nVerdict: Yes\nVerdict: No\nThink step by step, then finish with",
    ),
  ];
  writeTokenizer(dir, sample, o.vocabSize);
}
