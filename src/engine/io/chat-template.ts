/**
 * A model's chat template (Jinja, through @huggingface/jinja's parser and interpreter) rendered within limits. A
 * template comes with a model from the internet, and the messages it renders are written by the agent under watch:
 * `range(10000000000)` aborted the process, a loop that never ends hung `serve`, a template that doubles a string in a
 * loop grew without bound. Here the source has a size limit, `range` a length limit, and a render a limit on time,
 * on evaluation steps and on the size of every string it builds; past one, the render stops with an error that names
 * the template's file.
 */
import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { InputError } from "../../core/errors.js";

export interface TemplateLimits {
  /** the template's own source, in characters */
  sourceChars: number;
  /** wall-clock time of one render */
  ms: number;
  /** statements and expressions evaluated in one render, beyond a share per message */
  steps: number;
  /** items one range() may give */
  rangeItems: number;
  /** the longest string a render may build, beyond the messages' own length (times four) */
  outputChars: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  sourceChars: 1 << 20,
  ms: 5000,
  steps: 2_000_000,
  rangeItems: 100_000,
  outputChars: 1 << 20,
};

class TemplateLimit extends Error {}

// strftime_now as @huggingface/jinja's own (Llama 3.x templates date their system prompt with it)
function strftimeNow(format: string): string {
  const d = new Date();
  const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
  const month = (style: "long" | "short") => new Intl.DateTimeFormat(undefined, { month: style }).format(d);
  return format.replace(/%[YmdbBHM%]/g, (t) =>
    t === "%Y"
      ? String(d.getFullYear())
      : t === "%m"
        ? pad2(d.getMonth() + 1)
        : t === "%d"
          ? pad2(d.getDate())
          : t === "%b"
            ? month("short")
            : t === "%B"
              ? month("long")
              : t === "%H"
                ? pad2(d.getHours())
                : t === "%M"
                  ? pad2(d.getMinutes())
                  : "%",
  );
}

export class ChatTemplate {
  private readonly parsed: Template["parsed"];

  /** `file`: where the template came from (chat_template.jinja, or tokenizer_config.json), for every error. */
  constructor(
    readonly source: string,
    readonly file: string,
    readonly limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
  ) {
    if (source.length > limits.sourceChars)
      throw new InputError(
        `the chat template is ${source.length} characters, past the limit of ${limits.sourceChars}`,
        file,
      );
    try {
      this.parsed = new Template(source).parsed;
    } catch (e) {
      throw new InputError(`the chat template does not parse: ${(e as Error).message}`, file);
    }
  }

  /** Renders with these variables (messages among them); the limits scale with the messages' own length. */
  render(items: Record<string, unknown>, messageChars: number, messageCount: number): string {
    const l = this.limits;
    const deadline = Date.now() + l.ms;
    const maxSteps = l.steps + 2000 * messageCount;
    const maxChars = l.outputChars + 4 * messageChars;
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (message: unknown) => {
        throw new Error(String(message));
      },
      range: (start: number, stop?: number, step = 1) => {
        const [a, b] = stop === undefined ? [0, start] : [start, stop];
        if (step === 0) throw new Error("range() step must not be zero");
        const n = Math.max(0, Math.ceil((b - a) / step));
        if (!Number.isFinite(n) || n > l.rangeItems)
          throw new TemplateLimit(`range() of ${n} items, past the limit of ${l.rangeItems}`);
        return Array.from({ length: n }, (_, i) => a + i * step);
      },
      strftime_now: strftimeNow,
    };
    for (const [k, v] of Object.entries({ ...globals, ...items })) env.set(k, v);
    const it = new Interpreter(env);
    const evaluate = it.evaluate.bind(it);
    let steps = 0;
    // every statement and expression passes here (the interpreter calls this.evaluate), so the limits hold inside
    // loops, macros and filters alike
    it.evaluate = (statement: Parameters<Interpreter["evaluate"]>[0], environment: Environment) => {
      if (++steps > maxSteps) throw new TemplateLimit(`more than ${maxSteps} evaluation steps`);
      if ((steps & 1023) === 0 && Date.now() > deadline) throw new TemplateLimit(`more than ${l.ms} ms`);
      const v = evaluate(statement, environment);
      if (typeof v.value === "string" && v.value.length > maxChars)
        throw new TemplateLimit(`a string of ${v.value.length} characters, past the limit of ${maxChars}`);
      return v;
    };
    try {
      const out = it.run(this.parsed).value;
      return String(out);
    } catch (e) {
      const why = e instanceof TemplateLimit ? `stopped: ${e.message}` : `failed: ${(e as Error).message}`;
      throw new InputError(`the chat template ${why}`, this.file);
    }
  }
}
