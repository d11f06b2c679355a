/**
 * What `npm run fuzz` feeds crossmon's loaders: for each kind of file that comes from the internet or from the agent
 * under watch, a valid one (from the shipped model, the test fixtures or the Inspect fixtures) mutated at random —
 * a field replaced by a hostile value, a byte flipped, the file cut short, a template generated from Jinja pieces —
 * and the loader that reads it. A case passes when the loader succeeds or throws an InputError (the one-line error
 * a user sees); anything else (another error, a crash, a hang, memory past the bound) is a defect.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rng } from "../src/core/random.js";
import { importInspect } from "../src/data/import/inspect.js";
import { parseLabelRule } from "../src/data/import/inspect-label.js";
import { ChatTemplate } from "../src/engine/io/chat-template.js";
import { loadModel } from "../src/engine/io/checkpoint.js";
import { loadAdapter, saveAdapter } from "../src/engine/io/peft.js";
import { readHeader } from "../src/engine/io/safetensors.js";
import { HfTokenizer } from "../src/engine/io/tokenizer.js";
import { addLora } from "../src/engine/lora.js";
import { sample, writeEvalLog, writeJsonLog } from "../test/data/import/inspect-fixtures.js";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(ROOT, "test", "fixtures", "tiny-qwen3");
const BASE = join(ROOT, "models", "crossmon-base");

export interface Target {
  name: string;
  /**
   * writes this case's input under dir and returns the loader's read of it (which throws what the loader throws);
   * an error while writing is the harness's, not a defect
   */
  make(rng: Rng, dir: string): Promise<() => unknown> | (() => unknown);
}

const HOSTILE: unknown[] = [
  -1,
  0,
  0.5,
  -0.5,
  1e308,
  -1e9,
  2 ** 31,
  2 ** 32 + 4,
  2 ** 53,
  1e6,
  "",
  "x",
  "../../etc/passwd",
  null,
  true,
  [],
  {},
  [1, 2, 3],
  { a: 1 },
  "\u0000",
  "<|im_end|>",
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

/** The JSON value with one node (or a few) replaced by a hostile value, or deleted. */
export function mutateJson(rng: Rng, value: unknown, edits = 1 + rng.int(3)): unknown {
  const copy = structuredClone(value);
  for (let e = 0; e < edits; e++) {
    // walk down to a random container
    let node = copy as Record<string, unknown> | unknown[];
    for (let depth = 0; depth < 6; depth++) {
      const keys = Object.keys(node);
      if (!keys.length) break;
      const k = pick(rng, keys);
      const child = (node as Record<string, unknown>)[k];
      if (child && typeof child === "object" && rng.next() < 0.6) node = child as Record<string, unknown>;
      else break;
    }
    const keys = Object.keys(node);
    if (!keys.length) continue;
    const k = pick(rng, keys);
    if (rng.next() < 0.15 && !Array.isArray(node)) delete (node as Record<string, unknown>)[k];
    else (node as Record<string, unknown>)[k] = structuredClone(pick(rng, HOSTILE));
  }
  return copy;
}

/** Bytes with a few flipped, or cut short, or both. */
export function mutateBytes(rng: Rng, buf: Buffer, within = buf.length): Buffer {
  const out = Buffer.from(buf);
  const flips = rng.int(4);
  for (let i = 0; i < flips; i++) out[rng.int(Math.max(1, within))] ^= 1 << rng.int(8);
  return rng.next() < 0.2 ? out.subarray(0, rng.int(out.length)) : out;
}

/** A safetensors file's header as JSON, and its data. */
function splitSafetensors(buf: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString("utf8")), data: buf.subarray(8 + n) };
}

function joinSafetensors(header: unknown, data: Buffer): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

function modelCopy(dir: string): string {
  const d = join(dir, "model");
  rmSync(d, { recursive: true, force: true });
  cpSync(FIXTURE, d, { recursive: true });
  return d;
}

const weights = readFileSync(join(FIXTURE, "model.safetensors"));
const config = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));
const tokenizer = JSON.parse(readFileSync(join(BASE, "tokenizer.json"), "utf8"));

// Jinja pieces a generated template is made of: ordinary ones, and the ones that grow, loop or fail
const PIECES = [
  "{{ messages[0]['content'] }}",
  "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}",
  "{% if add_generation_prompt %}<|assistant|>{% endif %}",
  "{% for i in range(N) %}x{% endfor %}",
  "{% for i in range(N) %}{% for j in range(N) %}{{ i }}{% endfor %}{% endfor %}",
  "{% set ns = namespace(s='ab') %}{% for i in range(N) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
  "{{ raise_exception('no') }}",
  "{{ messages|length }}",
  "{{ (messages|first).content|upper }}",
  "{% macro m(x) %}[{{ x }}]{% endmacro %}{% for msg in messages %}{{ m(msg.content) }}{% endfor %}",
  "{{ messages[N]['content'] }}",
  "{{ strftime_now('%d %b %Y') }}",
  "{% for a in messages %}{% for b in messages %}{{ a.content ~ b.content }}{% endfor %}{% endfor %}",
  "{{ eos_token * N }}",
  "{%",
  "{{ 1 / 0 }}",
];

function template(rng: Rng): string {
  const n = () => pick(rng, ["0", "3", "40", "1000", "100000", "10000000000", "-5"]);
  return Array.from({ length: 1 + rng.int(4) }, () => pick(rng, PIECES).replaceAll("N", n)).join("");
}

export const TARGETS: Target[] = [
  {
    name: "safetensors header",
    make(rng, dir) {
      const d = modelCopy(dir);
      const { header, data } = splitSafetensors(weights);
      const bytes =
        rng.next() < 0.7 ? joinSafetensors(mutateJson(rng, header), data) : mutateBytes(rng, weights, 8 + 2000);
      writeFileSync(join(d, "model.safetensors"), bytes);
      return () => {
        readHeader(join(d, "model.safetensors"));
        loadModel(d);
      };
    },
  },
  {
    name: "config.json",
    make(rng, dir) {
      const d = modelCopy(dir);
      writeFileSync(join(d, "config.json"), JSON.stringify(mutateJson(rng, config)));
      return () => loadModel(d);
    },
  },
  {
    name: "tokenizer.json",
    make(rng, dir) {
      const d = join(dir, "tok");
      mkdirSync(d, { recursive: true });
      for (const f of ["config.json", "tokenizer_config.json"]) cpSync(join(BASE, f), join(d, f));
      const t = structuredClone(tokenizer);
      // the merges and added tokens are where the JavaScript library and Hugging Face's disagree
      const part = pick(rng, ["merges", "added", "whole"]);
      if (part === "merges") {
        const m = t.model.merges as string[];
        for (let i = 0; i < 1 + rng.int(3); i++) m[rng.int(m.length)] = pick(rng, ["a b", "zz qq", "", "a", "Ġ Ġ Ġ"]);
      } else if (part === "added") t.added_tokens = mutateJson(rng, t.added_tokens);
      else Object.assign(t, mutateJson(rng, { model: { type: t.model.type }, normalizer: t.normalizer }));
      writeFileSync(join(d, "tokenizer.json"), JSON.stringify(t));
      return () => {
        const tok = HfTokenizer.load(d);
        tok.encode("The agent deleted the backups.");
        if (tok.hasChatTemplate) tok.encodeChat([{ role: "user", content: "hello <|im_end|>" }]);
      };
    },
  },
  {
    name: "chat template",
    make(rng) {
      const source = template(rng);
      const messages = [
        { role: "system", content: "s" },
        { role: "user", content: "hello ".repeat(1 + rng.int(50)) },
      ];
      return () =>
        new ChatTemplate(source, "chat_template.jinja").render(
          { messages, add_generation_prompt: true, eos_token: "</s>", bos_token: "<s>" },
          400,
          2,
        );
    },
  },
  {
    name: "adapter",
    make(rng, dir) {
      const d = join(dir, "adapter");
      const m = loadModel(FIXTURE);
      addLora(m, { rank: 2, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"], seed: rng.int(1000) });
      saveAdapter(m, d, FIXTURE);
      const cfgFile = join(d, "adapter_config.json");
      const file = join(d, "adapter_model.safetensors");
      if (rng.next() < 0.5)
        writeFileSync(cfgFile, JSON.stringify(mutateJson(rng, JSON.parse(readFileSync(cfgFile, "utf8")))));
      else {
        const { header, data } = splitSafetensors(readFileSync(file));
        // tensor names and shapes: unknown layers, missing halves, wrong ranks
        const h = header as Record<string, { shape: number[] }>;
        const names = Object.keys(h).filter((k) => k !== "__metadata__");
        const victim = pick(rng, names);
        const what = rng.int(3);
        if (what === 0) {
          h[victim.replace("layers.0", "layers.99")] = h[victim];
          delete h[victim];
        } else if (what === 1) delete h[victim];
        else h[victim] = mutateJson(rng, h[victim]) as { shape: number[] };
        writeFileSync(file, joinSafetensors(h, data));
      }
      return () => loadAdapter(loadModel(FIXTURE), d);
    },
  },
  {
    name: "Inspect log",
    async make(rng, dir) {
      const samples = Array.from({ length: 4 }, (_, i) => sample({ id: i, mode: i % 2 ? "attack" : "honest" }));
      const mutated = samples.map((s) => (rng.next() < 0.5 ? (mutateJson(rng, s) as Record<string, unknown>) : s));
      const json = rng.next() < 0.5;
      const deep = json && rng.next() < 0.3 ? 1000 + rng.int(100_000) : 0;
      // nested deep enough to overflow a recursive reader: written as text (stringifying it would overflow here)
      if (deep)
        mutated[0] = { ...mutated[0], messages: [{ role: "user", content: [{ type: "text", text: "__DEEP__" }] }] };
      const file = join(dir, json ? "log.json" : "log.eval");
      if (json) writeJsonLog(file, mutated);
      else await writeEvalLog(file, mutated);
      if (deep)
        writeFileSync(file, readFileSync(file, "utf8").replace('"__DEEP__"', `${"[".repeat(deep)}${"]".repeat(deep)}`));
      if (rng.next() < 0.3) writeFileSync(file, mutateBytes(rng, readFileSync(file)));
      return () =>
        importInspect([file], {
          out: join(dir, "task"),
          task: "fuzz",
          label: parseLabelRule("metadata.eval_mode=attack"),
          quiet: true,
          limits: { entryBytes: 64 * 2 ** 20, totalBytes: 2 ** 30 },
        });
    },
  },
];
