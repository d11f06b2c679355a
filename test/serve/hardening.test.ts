/**
 * `crossmon serve` under what an unlucky user or an attacker sends, on loopback with the toy base model (bounded
 * counts, bounded times): the event loop stays free while the model works; prompts past the limit and templates that
 * multiply their text are refused before any work; shutdown answers every accepted request; a port in use is one line;
 * a slow client is cut off by the request timeout.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { MonitorServer } from "../../src/serve/server.js";
import { toyBase } from "../train/toy-base.js";

const ROOT = join(import.meta.dirname, "..", "..");

async function post(base: string, path: string, body: unknown) {
  const r = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as { error?: { message: string } } & Record<string, unknown> };
}

test("GET /v1/models answers while generations and large classify bodies keep the model busy", async (t) => {
  const server = new MonitorServer({ model: toyBase(), port: 0, maxBodyBytes: 2 << 20 });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const big = "word ".repeat(180_000); // 0.9 MB of text, truncated by the renderer in the model's thread
    // 40 jobs, one after another on the model's thread; each one counted as it settles
    let settled = 0;
    const chat = (content: string) =>
      post(base, "/v1/chat/completions", { messages: [{ role: "user", content }], max_tokens: 400, temperature: 1.5 });
    const work = Array.from({ length: 40 }, (_, i) =>
      (i % 5 === 4 ? post(base, "/v1/classify", { prompt: "Is it long?", text: big }) : chat(`Story ${i}.`)).finally(
        () => settled++,
      ),
    );
    await new Promise((r) => setTimeout(r, 100)); // the first jobs reach the model's thread
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const r = await fetch(`${base}/v1/models`);
      await r.json();
      times.push(performance.now() - t0);
    }
    // causal, not timed: had a job held the server's event loop, each answer would have waited for a job to end, and
    // 40 answers for most of the 40 jobs
    const settledMeanwhile = settled;
    const answers = await Promise.all(work);
    assert.ok(
      answers.every((a) => a.status === 200),
      JSON.stringify(answers.map((a) => a.status)),
    );
    assert.ok(settledMeanwhile < 20, `${settledMeanwhile} of 40 jobs ended while 40 model lists were answered`);
    times.sort((a, b) => a - b);
    t.diagnostic(
      `/v1/models under load: p50 ${times[20].toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms; ` +
        `${settledMeanwhile} of 40 jobs ended meanwhile`,
    );
  } finally {
    await server.close();
  }
});

test("a prompt past --max-prompt-tokens, or a template that multiplies its text, is refused before any work", async () => {
  const server = new MonitorServer({ model: toyBase(), port: 0, maxPromptTokens: 40, maxBodyBytes: 30_000 });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const long = await post(base, "/v1/chat/completions", {
      messages: [{ role: "user", content: "many words here ".repeat(40) }],
      max_tokens: 4,
    });
    assert.equal(long.status, 400);
    assert.match(
      long.json.error?.message ?? "",
      /the prompt is \d+ tokens, more than the limit of 40 \(--max-prompt-tokens/,
    );
    const completion = await post(base, "/v1/completions", { prompt: "many words here ".repeat(40), max_tokens: 0 });
    assert.equal(completion.status, 400);
    const ok = await post(base, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    assert.equal(ok.status, 200);
    const bomb = await post(base, "/v1/classify", { prompt: "{text}".repeat(2000), text: "x".repeat(10_000) });
    assert.equal(bomb.status, 400);
    assert.match(
      bomb.json.error?.message ?? "",
      /\{text\} appears 2000 times, expanding the request to \d+ characters/,
    );
  } finally {
    await server.close();
  }
});

function startCli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "serve", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  const url = async () => {
    const t0 = Date.now();
    while (!/http:\/\/[^ ]+:\d+/.test(out) && Date.now() - t0 < 60_000) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const m = out.match(/http:\/\/([^ ]+):(\d+)\/v1, pid (\d+)/);
    if (!m) throw new Error(`no address in ${out}`);
    return { base: `http://127.0.0.1:${m[2]}`, port: Number(m[2]), pid: Number(m[3]) };
  };
  return { child, url, exited, err: () => err };
}

test("SIGTERM with requests in flight: each gets its answer or a 503, none a reset; the server prints its own PID", async () => {
  const s = startCli(["--model", toyBase(), "--port", "0"]);
  const { base, pid } = await s.url();
  assert.equal(pid, s.child.pid, "the PID printed is the server's");
  const results = Array.from({ length: 24 }, (_, i) =>
    (i % 3 === 0
      ? post(base, "/v1/chat/completions", { messages: [{ role: "user", content: `story ${i}` }], max_tokens: 60 })
      : post(base, "/v1/classify", { prompt: "Is it?", text: `text ${i}` })
    ).then(
      (r) => r.status,
      (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  s.child.kill("SIGTERM");
  const statuses = await Promise.all(results);
  assert.equal(await s.exited, 0);
  assert.ok(
    statuses.every((x) => x === 200 || x === 503),
    JSON.stringify(statuses),
  );
  assert.ok(statuses.includes(200));
});

test("a port in use is one line and exit 2; a client that sends its body slowly is cut off by the request timeout", async () => {
  const first = startCli(["--model", toyBase(), "--port", "0", "--request-timeout", "1"]);
  const { port } = await first.url();
  try {
    const second = startCli(["--model", toyBase(), "--port", String(port)]);
    assert.equal(await second.exited, 2);
    assert.equal(
      second.err().trim(),
      `crossmon: error: --port ${port}: 127.0.0.1:${port} is already in use (another server is listening there)`,
    );
    // headers promise a body that never comes
    const t0 = Date.now();
    const reply = await new Promise<string>((resolve) => {
      const sock = connect(port, "127.0.0.1", () =>
        sock.write(
          "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            "Content-Length: 1000\r\n\r\n{",
        ),
      );
      let got = "";
      sock.on("data", (d) => (got += d));
      sock.on("close", () => resolve(got));
      setTimeout(() => sock.destroy(), 20_000);
    });
    const held = (Date.now() - t0) / 1000;
    assert.ok(held < 10, `the slow request was held ${held} s`);
    assert.match(reply, /^HTTP\/1\.1 408/);
  } finally {
    first.child.kill("SIGTERM");
    await first.exited;
  }
});

test("requests from other sites: a Host that is not this server's is 403 (DNS rebinding), a body that is not JSON is 415, echo is refused, and open connections are capped", async () => {
  const server = new MonitorServer({ model: toyBase(), port: 0, maxConnections: 8, allowedHosts: ["monitor.lan"] });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  const raw = (lines: string[], body = "") =>
    new Promise<string>((resolve) => {
      const sock = connect(port, "127.0.0.1", () => sock.write(`${lines.join("\r\n")}\r\n\r\n${body}`));
      let got = "";
      sock.on("data", (d) => (got += d));
      sock.on("close", () => resolve(got));
      sock.on("error", () => resolve(got));
    });
  const body = JSON.stringify({ prompt: "Is it long?", text: "short" });
  const post = (host: string, type: string) =>
    raw(
      [
        "POST /v1/classify HTTP/1.1",
        `Host: ${host}`,
        `Content-Type: ${type}`,
        `Content-Length: ${body.length}`,
        "Connection: close",
      ],
      body,
    );
  try {
    assert.match(
      await post("evil.example:8000", "application/json"),
      /^HTTP\/1\.1 403[\s\S]*not this server's address[\s\S]*--allow-host evil\.example/,
    );
    assert.match(await raw(["GET /v1/models HTTP/1.1", "Host: evil.example", "Connection: close"]), /^HTTP\/1\.1 403/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "monitor.lan"])
      assert.match(await post(host, "application/json"), /^HTTP\/1\.1 200/, host);
    // a page on another site may POST text/plain without a preflight: never served
    assert.match(await post(`127.0.0.1:${port}`, "text/plain"), /^HTTP\/1\.1 415[\s\S]*must be JSON/);
    const echo = await fetch(`${base}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello", max_tokens: 1, echo: true }),
    });
    assert.equal(echo.status, 400);
    assert.match(JSON.stringify(await echo.json()), /echo: true is not supported/);
    // 30 connections held open: the server keeps 8, closes the rest at once, and still answers a new client
    const held = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<Socket>((ok) => {
            const c = connect(port, "127.0.0.1", () => ok(c));
            c.on("error", () => {});
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const open = held.filter((c) => !c.destroyed && c.readyState === "open").length;
    held.forEach((c) => c.destroy());
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(open <= 8, `${open} of 30 held connections stayed open past the cap of 8`);
    assert.equal((await fetch(`${base}/v1/models`)).status, 200);
  } finally {
    await server.close();
  }
});
