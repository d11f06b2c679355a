/**
 * Chat templates that come with a model from the internet, rendered within limits: a huge range, a string that
 * doubles in a loop, nested loops that would run for hours, unbounded recursion, a template too large to be one, and
 * a syntax error. Each stops with an error naming the template's file; `serve` answers the request with an error and
 * keeps serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { MonitorServer } from "../../src/serve/server.js";
import { toyBase } from "../train/toy-base.js";

const FIX = toyBase();

function withTemplate(source: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), "crossmon-tpl-")), "model");
  cpSync(FIX, dir, { recursive: true });
  writeFileSync(join(dir, "chat_template.jinja"), source);
  return dir;
}

const hi = [{ role: "user", content: "hello" }];

test("hostile chat templates stop within their limits, with an error naming chat_template.jinja", () => {
  const cases: [string, RegExp][] = [
    ["{% for i in range(10000000000) %}x{% endfor %}", /range\(\) of 10000000000 items, past the limit/],
    [
      "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
      /a string of \d+ characters, past the limit/,
    ],
    [
      "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
      /more than \d+ evaluation steps|more than \d+ ms|a string of \d+ characters/,
    ],
    ["{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", /the chat template failed: /],
  ];
  for (const [source, why] of cases) {
    const tok = HfTokenizer.load(withTemplate(source));
    const t0 = Date.now();
    assert.throws(
      () => tok.encodeChat(hi),
      (e: Error) => /chat_template\.jinja: the chat template/.test(e.message) && why.test(e.message),
      source,
    );
    assert.ok(Date.now() - t0 < 20_000, `${source}: ${Date.now() - t0} ms`);
  }
  assert.throws(
    () => HfTokenizer.load(withTemplate("{% for x in %}")),
    /chat_template\.jinja: the chat template does not parse/,
  );
  assert.throws(
    () => HfTokenizer.load(withTemplate(`{# ${"x".repeat(2 << 20)} #}`)),
    /chat_template\.jinja: the chat template is \d+ characters, past the limit/,
  );
  // an ordinary template still renders as before
  const ok = HfTokenizer.load(FIX);
  assert.ok(ok.applyChatTemplate(hi, { addGenerationPrompt: true }).includes("hello"));
});

test("serve: a request that meets a hostile template gets an error, and the server goes on serving", async () => {
  const server = new MonitorServer({
    model: withTemplate("{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}"),
    port: 0,
  });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: hi, max_tokens: 1 }),
    });
    assert.ok(r.status >= 400, `status ${r.status}`);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /chat_template\.jinja/);
    assert.equal((await fetch(`${base}/v1/models`)).status, 200, "still serving");
  } finally {
    await server.close();
  }
});
