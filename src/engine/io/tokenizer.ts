/**
 * A Hugging Face tokenizer directory: tokenizer.json (through @huggingface/tokenizers) and the chat template from
 * tokenizer_config.json or chat_template.jinja (through @huggingface/jinja).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { resolveModelDir } from "../../hub/resolve.js";
import { assertRegularFile, InputError } from "../../core/errors.js";
import { ChatTemplate } from "./chat-template.js";
import { checkTokenizerJson, probeTokenizer } from "./tokenizer-check.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  content: string;
}

type TokenField = string | { content: string } | null | undefined;

function readJson(file: string): Record<string, unknown> {
  assertRegularFile(file);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, file);
  }
}

function tokenText(t: TokenField): string | undefined {
  return t == null ? undefined : typeof t === "string" ? t : t.content;
}

type AddedToken = { content: string; special?: boolean };

/** Private-use characters around a placeholder's index: text never carries them into a template by accident. */
const HOLD_OPEN = "\uE000";
const HOLD_CLOSE = "\uE001";
const HOLD = /\uE000(\d+)\uE001/g;

export class HfTokenizer {
  private template: ChatTemplate | null;
  readonly chatTemplateSource: string | null;
  /** the special tokens' strings, longest first (so "<|im_end|>" is found before a shorter prefix) */
  readonly specialStrings: string[];
  private plainTokenizer: Tokenizer | null = null;

  constructor(
    readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
    chatTemplate: { source: string; file: string } | null,
    readonly json: Record<string, unknown> = {},
  ) {
    this.chatTemplateSource = chatTemplate?.source ?? null;
    this.template = chatTemplate ? new ChatTemplate(chatTemplate.source, chatTemplate.file) : null;
    const added = (json.added_tokens ?? []) as AddedToken[];
    this.specialStrings = added
      .filter((t) => t.special)
      .map((t) => t.content)
      .sort((a, b) => b.length - a.length);
  }

  /** The tokenizer of a model folder or of a hub id in the Hugging Face cache. */
  static load(ref: string): HfTokenizer {
    const dir = resolveModelDir(ref);
    const tjson = join(dir, "tokenizer.json");
    if (!existsSync(tjson)) throw new InputError("not found (crossmon reads tokenizers from tokenizer.json)", tjson);
    const tok = readJson(tjson);
    const cfgFile = join(dir, "tokenizer_config.json");
    const cfg = existsSync(cfgFile) ? readJson(cfgFile) : {};
    let template: { source: string; file: string } | null = null;
    const jinjaFile = join(dir, "chat_template.jinja");
    if (existsSync(jinjaFile)) {
      assertRegularFile(jinjaFile);
      template = { source: readFileSync(jinjaFile, "utf8"), file: jinjaFile };
    } else if (typeof cfg.chat_template === "string") template = { source: cfg.chat_template, file: cfgFile };
    else if (Array.isArray(cfg.chat_template)) {
      const named = cfg.chat_template as { name: string; template: string }[];
      const t = (named.find((x) => x.name === "default") ?? named[0])?.template;
      if (typeof t === "string") template = { source: t, file: cfgFile };
    }
    checkTokenizerJson(tok, tjson);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tok, cfg);
    } catch (e) {
      throw new InputError(`could not build the tokenizer: ${(e as Error).message}`, tjson);
    }
    probeTokenizer((text) => tokenizer.encode(text, { add_special_tokens: false }).ids, tjson);
    // the template's own errors name its own file (built outside the tokenizer's try)
    return new HfTokenizer(tokenizer, cfg, template, tok);
  }

  encode(text: string, addSpecialTokens = false): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /**
   * Text as plain text: a special token's string in it ("<|im_end|>") becomes the ordinary tokens of those
   * characters, never the special token. For what an agent wrote, which must not be able to forge chat markup.
   */
  encodePlain(text: string): number[] {
    if (!this.specialStrings.some((s) => text.includes(s))) return this.encode(text);
    if (!this.plainTokenizer) {
      // the same tokenizer without its special added tokens, so nothing in the text can match one
      const added = ((this.json.added_tokens ?? []) as AddedToken[]).filter((t) => !t.special);
      this.plainTokenizer = new Tokenizer({ ...this.json, added_tokens: added }, this.config);
    }
    return this.plainTokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * A conversation rendered with the chat template and tokenised so that only the template's own markup is special:
   * special-token strings inside the messages' content are plain text (monitored text is written by the agent under
   * watch, and a fake "<|im_end|>" in it must not end its turn). Special strings in content are held out as
   * placeholders while the template renders, then tokenised as plain text in their place.
   */
  encodeChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    const held: string[] = [];
    const hold = (content: string) => {
      let out = content;
      // a placeholder's own opening character in the text is held too (first), so no text can pose as one
      for (const s of [HOLD_OPEN, ...this.specialStrings]) {
        if (!out.includes(s)) continue;
        out = out.split(s).join(`${HOLD_OPEN}${held.length}${HOLD_CLOSE}`);
        held.push(s);
      }
      return out;
    };
    const masked = messages.map((m) => ({ ...m, content: hold(m.content) }));
    const rendered = this.applyChatTemplate(masked, opts);
    if (held.length === 0) return this.encode(rendered);
    const ids: number[] = [];
    let last = 0;
    for (const m of rendered.matchAll(HOLD)) {
      ids.push(...this.encode(rendered.slice(last, m.index)));
      ids.push(...this.encodePlain(held[Number(m[1])]));
      last = (m.index ?? 0) + m[0].length;
    }
    ids.push(...this.encode(rendered.slice(last)));
    return ids;
  }

  decode(ids: number[], skipSpecialTokens = false): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  get vocabSize(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  get eosToken(): string | undefined {
    return tokenText(this.config.eos_token as TokenField);
  }

  get bosToken(): string | undefined {
    return tokenText(this.config.bos_token as TokenField);
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /** Renders a conversation with the model's chat template, as transformers' apply_chat_template(tokenize=False). */
  applyChatTemplate(
    messages: ChatMessage[],
    opts: { addGenerationPrompt?: boolean; extra?: Record<string, unknown> } = {},
  ): string {
    if (!this.template)
      throw new InputError("this tokenizer has no chat template (tokenizer_config.json has no chat_template)");
    const chars = messages.reduce((n, m) => n + (typeof m.content === "string" ? m.content.length : 0), 0);
    return this.template.render(
      {
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        bos_token: this.bosToken ?? "",
        eos_token: this.eosToken ?? "",
        pad_token: tokenText(this.config.pad_token as TokenField) ?? "",
        unk_token: tokenText(this.config.unk_token as TokenField) ?? "",
        ...opts.extra,
      },
      chars,
      messages.length,
    );
  }
}
