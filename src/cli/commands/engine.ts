/** `crossmon engine info|generate|score`: the in-process engine from the command line. */
import type { Command } from "commander";
import { loadModel } from "../../engine/io/checkpoint.js";
import { loadAdapter } from "../../engine/io/peft.js";
import { HfTokenizer } from "../../engine/io/tokenizer.js";
import { gemmPlanInForce, nativeKernels, kernels, setThreads } from "../../engine/kernels/index.js";
import { generate } from "../../engine/generate.js";
import { scoreNextTokens } from "../../engine/score.js";
import { InputError } from "../../core/errors.js";
import { ADAPTER_HELP, action, MODEL_HELP, numberOption } from "../output.js";

function load(dir: string, adapter?: string) {
  const model = loadModel(dir);
  if (adapter) loadAdapter(model, adapter);
  return { model, tok: HfTokenizer.load(dir) };
}

function promptIds(tok: HfTokenizer, text: string, chat: boolean): number[] {
  return chat ? tok.encodeChat([{ role: "user", content: text }], { addGenerationPrompt: true }) : tok.encode(text);
}

export function registerEngine(program: Command): void {
  const engine = program.command("engine").description("the in-process engine: kernels, generation, scoring");
  engine
    .command("info")
    .description("which kernels run, on how many threads, with which GEMM and SIMD level")
    .action(
      action(() => {
        const n = nativeKernels();
        const plan = gemmPlanInForce();
        console.log(
          JSON.stringify({
            kernels: kernels().name,
            ...(n ? n.info() : { note: "native addon not built: TypeScript reference kernels" }),
            ...(plan ? { gemmPlanSource: plan.source } : {}),
          }),
        );
      }),
    );
  engine
    .command("generate")
    .description("generate a continuation of a prompt")
    .requiredOption("--model <ref>", MODEL_HELP)
    .requiredOption("--prompt <text>", "the prompt (a user message with --chat)")
    .option("--adapter <ref>", ADAPTER_HELP)
    .option("--chat", "wrap the prompt in the model's chat template", false)
    .option("--max-tokens <n>", "new tokens at most", "64")
    .option("--temperature <t>", "0 = greedy", "0")
    .option("--top-p <p>", "nucleus sampling", "1")
    .option("--seed <n>", "sampling seed", "0")
    .option("--stop <s...>", "stop strings")
    .option("--threads <n>", "threads for the kernels")
    .action(
      action((o: Record<string, string | string[] | boolean | undefined>) => {
        if (o.threads) setThreads(numberOption(o.threads as string, "--threads", { integer: true, min: 1 }));
        const { model, tok } = load(o.model as string, o.adapter as string | undefined);
        const eos = tok.eosToken ? tok.tokenId(tok.eosToken) : undefined;
        const g = generate(model, promptIds(tok, o.prompt as string, !!o.chat), {
          maxNewTokens: numberOption(o.maxTokens as string, "--max-tokens", { integer: true, min: 1 }),
          temperature: numberOption(o.temperature as string, "--temperature", { min: 0 }),
          topP: numberOption(o.topP as string, "--top-p", { min: 0, max: 1 }),
          seed: numberOption(o.seed as string, "--seed", { integer: true }),
          stopTokenIds: [...model.config.eosTokenIds, ...(eos !== undefined ? [eos] : [])],
          stopStrings: o.stop as string[] | undefined,
          decode: (ids) => tok.decode(ids, true),
        });
        process.stdout.write(`${g.text}\n`);
      }),
    );
  engine
    .command("score")
    .description("log-probabilities of candidate next tokens after a prompt (e.g. ' Yes' and ' No')")
    .requiredOption("--model <ref>", MODEL_HELP)
    .requiredOption("--prompt <text>", "the prompt (a user message with --chat)")
    .option("--adapter <ref>", ADAPTER_HELP)
    .option("--chat", "wrap the prompt in the model's chat template", false)
    .option("--candidates <tokens...>", "candidate continuations, each one token", [" Yes", " No"])
    .action(
      action((o: Record<string, string | string[] | boolean | undefined>) => {
        const { model, tok } = load(o.model as string, o.adapter as string | undefined);
        const cands = o.candidates as string[];
        const ids = cands.map((c) => {
          const e = tok.encode(c);
          if (e.length !== 1)
            throw new InputError(
              `candidate ${JSON.stringify(c)} is ${e.length} tokens for this tokenizer; it must be one`,
            );
          return e[0];
        });
        const [lp] = scoreNextTokens(model, [promptIds(tok, o.prompt as string, !!o.chat)], ids);
        const bad = lp.findIndex((x) => Number.isNaN(x) || x === Number.POSITIVE_INFINITY);
        if (bad >= 0)
          throw new InputError(
            `the log-probability of ${JSON.stringify(cands[bad])} is ${lp[bad]}: the model gives no valid score ` +
              "(NaN or infinite values in its weights or activations)",
            o.model as string,
          );
        const mass = lp.reduce((s, x) => s + Math.exp(x), 0);
        console.log(
          JSON.stringify({
            candidates: Object.fromEntries(
              cands.map((c, i) => [c, { logprob: lp[i], p_normalised: Math.exp(lp[i]) / mass }]),
            ),
            mass,
          }),
        );
      }),
    );
}
