/**
 * A Hugging Face tokenizer directory: tokenizer.json (through @huggingface/tokenizers) and the chat template from
 * tokenizer_config.json or chat_template.jinja (through @huggingface/jinja).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { resolveModelDir } from "../../hub/resolve.js";
import { InputError } from "../../core/errors.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  content: string;
}

type TokenField = string | { content: string } | null | undefined;

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, file);
  }
}

function tokenText(t: TokenField): string | undefined {
  return t == null ? undefined : typeof t === "string" ? t : t.content;
}

export class HfTokenizer {
  private template: Template | null;
  readonly chatTemplateSource: string | null;

  constructor(
    readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
    chatTemplate: string | null,
  ) {
    this.chatTemplateSource = chatTemplate;
    this.template = chatTemplate ? new Template(chatTemplate) : null;
  }

  /** The tokenizer of a model folder or of a hub id in the Hugging Face cache. */
  static load(ref: string): HfTokenizer {
    const dir = resolveModelDir(ref);
    const tjson = join(dir, "tokenizer.json");
    if (!existsSync(tjson)) throw new InputError("not found (crossmon reads tokenizers from tokenizer.json)", tjson);
    const tok = readJson(tjson);
    const cfgFile = join(dir, "tokenizer_config.json");
    const cfg = existsSync(cfgFile) ? readJson(cfgFile) : {};
    let template: string | null = null;
    const jinjaFile = join(dir, "chat_template.jinja");
    if (existsSync(jinjaFile)) template = readFileSync(jinjaFile, "utf8");
    else if (typeof cfg.chat_template === "string") template = cfg.chat_template;
    else if (Array.isArray(cfg.chat_template)) {
      const named = cfg.chat_template as { name: string; template: string }[];
      template = (named.find((t) => t.name === "default") ?? named[0])?.template ?? null;
    }
    try {
      return new HfTokenizer(new Tokenizer(tok, cfg), cfg, template);
    } catch (e) {
      throw new InputError(`could not build the tokenizer: ${(e as Error).message}`, tjson);
    }
  }

  encode(text: string, addSpecialTokens = false): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
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
    return this.template.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
      pad_token: tokenText(this.config.pad_token as TokenField) ?? "",
      unk_token: tokenText(this.config.unk_token as TokenField) ?? "",
      ...opts.extra,
    });
  }
}
