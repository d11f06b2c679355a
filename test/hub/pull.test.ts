/**
 * Models by hub id: `crossmon pull` against a loopback hub (the routes @huggingface/hub uses), the Hugging Face cache
 * layout it writes, resuming after a cut, hash checks, gated models, offline use, and the errors for what is missing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { saveAdapter } from "../../src/engine/io/peft.js";
import { addLora } from "../../src/engine/lora.js";
import { randomArray } from "../helpers.js";
import { FakeHub } from "./fake-hub.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BASE = join(ROOT, "models", "crossmon-base");
const ID = "acme/tiny-monitor";

function cli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ status: number; out: string; err: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, HF_TOKEN: undefined, HF_HUB_OFFLINE: undefined, HF_HUB_CACHE: undefined, ...env },
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => ok({ status: code ?? -1, out, err }));
  });
}

let hub: FakeHub;
let endpoint: string;
const repoDir = mkdtempSync(join(tmpdir(), "crossmon-hubrepo-"));
const gatedDir = mkdtempSync(join(tmpdir(), "crossmon-hubgated-"));
const adapterDir = join(mkdtempSync(join(tmpdir(), "crossmon-hublora-")), "adapter");

before(async () => {
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) {
    copyFileSync(join(BASE, f), join(repoDir, f));
  }
  writeFileSync(join(repoDir, "pytorch_model.bin"), "not wanted by crossmon");
  for (const f of ["config.json", "tokenizer.json"]) copyFileSync(join(BASE, f), join(gatedDir, f));
  const model = loadModel(BASE);
  addLora(model, { rank: 2, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"], seed: 1 });
  model.linears().forEach((l, i) => l.lora?.B.data.set(randomArray(l.lora.B.data.length, i, 0.5)));
  saveAdapter(model, adapterDir, ID);
  hub = new FakeHub([
    { type: "model", id: ID, dir: repoDir, refs: ["v1"] },
    { type: "model", id: "acme/tiny-lora", dir: adapterDir },
    { type: "model", id: "acme/gated", dir: gatedDir, token: "hf_secret_token_123" },
  ]);
  endpoint = await hub.start();
});
after(() => hub.close());

const score = (model: string, env: Record<string, string>) =>
  cli(["engine", "score", "--model", model, "--prompt", "Is this a test?", "--chat"], env);

test("pull writes huggingface_hub's cache layout, and the model then loads by id, offline, as the folder does", async () => {
  const home = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const env = { HF_HOME: home, HF_ENDPOINT: endpoint };
  const r = await cli(["pull", ID, "--quiet"], env);
  assert.equal(r.status, 0, r.err);
  const commit = hub.commit(ID);
  const repo = join(home, "hub", "models--acme--tiny-monitor");
  assert.equal(readFileSync(join(repo, "refs", "main"), "utf8"), commit);
  const snap = join(repo, "snapshots", commit);
  assert.equal(r.out.trim(), snap);
  assert.deepEqual(readdirSync(snap).sort(), [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
  ]);
  for (const f of readdirSync(snap)) {
    assert.ok(lstatSync(join(snap, f)).isSymbolicLink(), `${f} is a link into blobs/`);
    assert.match(readlinkSync(join(snap, f)), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    assert.deepEqual(readFileSync(join(snap, f)), readFileSync(join(repoDir, f)));
  }
  // the LFS file's blob is named by its sha256, as huggingface_hub names it
  assert.equal(readlinkSync(join(snap, "model.safetensors")).split("/").pop()?.length, 64);

  const fromFolder = await score(BASE, {});
  assert.equal(fromFolder.status, 0, fromFolder.err);
  hub.log.length = 0;
  const byId = await score(ID, { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(byId.status, 0, byId.err);
  assert.equal(byId.out, fromFolder.out);
  const byTag = await score(`${ID}@${commit}`, { HF_HOME: home, HF_ENDPOINT: endpoint });
  assert.equal(byTag.out, fromFolder.out);
  assert.equal(hub.log.length, 0, "a model in the cache never touches the network");

  // an adapter by id, over the model by id; and a whole command (eval) on both
  assert.equal((await cli(["pull", "acme/tiny-lora", "--quiet"], env)).status, 0);
  const lora = (adapter: string, e: Record<string, string>) =>
    cli(["engine", "score", "--model", ID, "--adapter", adapter, "--prompt", "Is this a test?", "--chat"], e);
  const loraById = await lora("acme/tiny-lora", { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(loraById.status, 0, loraById.err);
  assert.equal(loraById.out, (await lora(adapterDir, { HF_HOME: home })).out);
  assert.notEqual(loraById.out, fromFolder.out, "the adapter changes the scores");
  const evalArgs = (model: string) => ["eval", "--model", model, "--only", "email_link", "-n", "20", "-q"];
  const evalById = await cli(evalArgs(ID), { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(evalById.status, 0, evalById.err);
  assert.equal(evalById.out, (await cli(evalArgs(BASE), {})).out);

  // a second pull downloads nothing; HF_HUB_CACHE is honoured over HF_HOME
  const again = await cli(["pull", ID, "--quiet"], env);
  assert.match(again.err, /0 downloaded/);
  const other = await score(ID, { HF_HOME: "/nonexistent", HF_HUB_CACHE: join(home, "hub") });
  assert.equal(other.out, fromFolder.out);
});

test("a pull cut part way resumes from the partial file (an HTTP range) and is checked; a corrupt file is refused", async () => {
  const home = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const env = { HF_HOME: home, HF_ENDPOINT: endpoint };
  hub.cut = { path: "model.safetensors", bytes: 5_000_000 };
  const first = await cli(["pull", ID, "--quiet"], env);
  assert.notEqual(first.status, 0, "the cut connection is an error");
  assert.match(first.err, /^crossmon: error: acme\/tiny-monitor: /m);
  const blobs = join(home, "hub", "models--acme--tiny-monitor", "blobs");
  const partial = readdirSync(blobs).find((f) => f.endsWith(".incomplete"));
  assert.ok(partial, "the bytes received are kept");
  const kept = statSync(join(blobs, partial)).size;
  assert.ok(kept > 0 && kept <= 5_000_000, `${kept} bytes kept`);
  // nothing looks complete: no ref, so the id is not found, with the command that fixes it
  const before = await score(ID, { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(before.status, 2);
  assert.match(before.err, /not in the Hugging Face cache .*run `crossmon pull acme\/tiny-monitor`/);

  hub.log.length = 0;
  const second = await cli(["pull", ID, "--quiet"], env);
  assert.equal(second.status, 0, second.err);
  const ranged = hub.log.filter((l) => l.url.endsWith("/model.safetensors") && l.range === `bytes=${kept}-23088039`);
  assert.equal(ranged.length, 1, JSON.stringify(hub.log));
  const ok = await score(ID, { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(ok.status, 0, ok.err);

  // a blob deleted from under the snapshot: a partial download, named
  const snap = join(home, "hub", "models--acme--tiny-monitor", "snapshots", hub.commit(ID));
  rmSync(join(blobs, readlinkSync(join(snap, "model.safetensors")).split("/").pop() ?? ""));
  const partialRun = await score(ID, { HF_HOME: home, HF_HUB_OFFLINE: "1" });
  assert.equal(partialRun.status, 2);
  assert.match(partialRun.err, /partial download .*missing model\.safetensors: run `crossmon pull acme\/tiny-monitor`/);

  // content that does not match the hub's hash is removed, never linked
  const body = Buffer.from(readFileSync(join(repoDir, "model.safetensors")));
  body[1000] ^= 0xff;
  hub.corrupt = { path: "model.safetensors", body };
  const bad = await cli(["pull", ID, "--quiet"], env);
  hub.corrupt = null;
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /model\.safetensors: content hash [0-9a-f]{12} differs from the hub's/);
  assert.ok(!readdirSync(blobs).some((f) => f.endsWith(".incomplete")), "the bad bytes are not kept");
  assert.equal(existsSync(join(snap, "model.safetensors")), false);
});

test("gated models need HF_TOKEN, which is sent and never printed or written; unknown ids and revisions", async () => {
  const home = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const env = { HF_HOME: home, HF_ENDPOINT: endpoint };
  const refused = await cli(["pull", "acme/gated", "--quiet"], env);
  assert.equal(refused.status, 2);
  assert.match(refused.err, /acme\/gated: gated or private model \(401\): set HF_TOKEN/);
  const token = "hf_secret_token_123";
  const got = await cli(["pull", "acme/gated", "--include", "config.json"], { ...env, HF_TOKEN: token });
  assert.equal(got.status, 0, got.err);
  assert.ok(hub.log.some((l) => l.auth === `Bearer ${token}`));
  assert.ok(!got.out.includes(token) && !got.err.includes(token));
  const wrong = await cli(["pull", "acme/gated"], { ...env, HF_TOKEN: "hf_wrong" });
  assert.match(wrong.err, /refused the token in HF_TOKEN/);
  assert.ok(!wrong.err.includes("hf_wrong"));
  const grep = (dir: string): boolean =>
    readdirSync(dir).some((f) => {
      const p = join(dir, f);
      const s = lstatSync(p);
      return s.isDirectory() ? grep(p) : s.isFile() && readFileSync(p).includes(token);
    });
  assert.equal(grep(home), false, "the token is in no file of the cache");

  const unknown = await cli(["pull", "acme/nothing"], env);
  assert.equal(unknown.status, 2);
  assert.match(unknown.err, /acme\/nothing: no such model, or no revision "main", on http:\/\/127\.0\.0\.1/);
  const offline = await cli(["pull", ID], { ...env, HF_HUB_OFFLINE: "1" });
  assert.match(offline.err, /HF_HUB_OFFLINE is set and the cache .* does not hold it whole/);
  assert.equal((await cli(["pull", "../etc"], env)).status, 2);
});

test("model references that name nothing: a missing folder, an id not in the cache, a revision not in it", async () => {
  const home = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const env = { HF_HOME: home, HF_HUB_OFFLINE: "1" };
  const folder = await score("/nonexistent/model", env);
  assert.equal(folder.status, 2);
  assert.equal(folder.err.trim(), "crossmon: error: /nonexistent/model: no such model folder");
  const id = await score("acme/absent", env);
  assert.match(
    id.err,
    /acme\/absent: no such model folder, and not in the Hugging Face cache .*run `crossmon pull acme\/absent` if it is a hub id; HF_HUB_OFFLINE is set/,
  );
  mkdirSync(join(home, "hub", "models--acme--absent", "refs"), { recursive: true });
  writeFileSync(join(home, "hub", "models--acme--absent", "refs", "main"), "a".repeat(40));
  const rev = await score("acme/absent@v2", env);
  assert.match(
    rev.err,
    /acme\/absent: revision "v2" is not in the Hugging Face cache .*it has main.*run `crossmon pull acme\/absent --revision v2`/,
  );
  const adapter = await cli(["engine", "score", "--model", BASE, "--adapter", "acme/lora", "--prompt", "x"], env);
  assert.match(adapter.err, /acme\/lora: no such adapter folder/);
});

const PYTHON = process.env.CROSSMON_PYTHON ?? "python3";
const py = (code: string, env: Record<string, string>) =>
  new Promise<{ status: number; out: string; err: string }>((ok) => {
    const p = spawn(PYTHON, ["-c", code], { env: { ...process.env, HF_HUB_DISABLE_TELEMETRY: "1", ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => ok({ status: -1, out, err: String(e) }));
    p.on("close", (code) => ok({ status: code ?? -1, out, err }));
  });

test("the cache is shared with huggingface_hub: what it downloads crossmon reads, what crossmon pulls it finds", async (t) => {
  const probe = await py("import huggingface_hub; print(huggingface_hub.__version__)", {});
  if (probe.status !== 0) {
    t.skip(`${PYTHON} has no huggingface_hub (set CROSSMON_PYTHON to one that does)`);
    return;
  }
  const fromFolder = await score(BASE, {});
  const theirs = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const dl = await py(
    `from huggingface_hub import snapshot_download\nprint(snapshot_download("${ID}", allow_patterns=["*.json", "*.safetensors"]))`,
    { HF_HOME: theirs, HF_ENDPOINT: endpoint },
  );
  assert.equal(dl.status, 0, dl.err);
  const read = await score(ID, { HF_HOME: theirs, HF_HUB_OFFLINE: "1" });
  assert.equal(read.status, 0, read.err);
  assert.equal(read.out, fromFolder.out);

  const ours = mkdtempSync(join(tmpdir(), "crossmon-hfhome-"));
  const pulled = await cli(["pull", ID, "--quiet"], { HF_HOME: ours, HF_ENDPOINT: endpoint });
  assert.equal(pulled.status, 0, pulled.err);
  const found = await py(
    "from huggingface_hub import snapshot_download, hf_hub_download\n" +
      `print(snapshot_download("${ID}"))\nprint(hf_hub_download("${ID}", "model.safetensors"))`,
    { HF_HOME: ours, HF_HUB_OFFLINE: "1" },
  );
  assert.equal(found.status, 0, found.err);
  const snap = pulled.out.trim();
  assert.deepEqual(found.out.trim().split("\n"), [snap, join(snap, "model.safetensors")]);
});

test("a hostile hub's listing cannot write outside the snapshot: paths with .. or absolute, and hashes that are paths", async () => {
  const cache = mkdtempSync(join(tmpdir(), "crossmon-hostile-"));
  const victim = join(cache, "victim");
  mkdirSync(victim);
  writeFileSync(join(victim, "config.json"), "the user's own file");
  const cases: [string, { path: string; body: Buffer; etag?: string }][] = [
    ["acme/climb", { path: "../../../victim/config.json", body: Buffer.from('{"evil": 1}') }],
    ["acme/dotted", { path: "sub/./../../x.json", body: Buffer.from("{}") }],
    ["acme/absolute", { path: `${victim}/config.json`, body: Buffer.from("{}") }],
    ["acme/backslash", { path: "..\\..\\victim\\config.json", body: Buffer.from("{}") }],
    ["acme/etag", { path: "extra.json", body: Buffer.from("{}"), etag: "../../../victim/config.json" }],
  ];
  const evil = new FakeHub(cases.map(([id, extra]) => ({ type: "model" as const, id, dir: repoDir, extra: [extra] })));
  const at = await evil.start();
  try {
    for (const [id] of cases) {
      const r = await cli(["pull", id], { HF_ENDPOINT: at, HF_HUB_CACHE: cache });
      assert.equal(r.status, 2, `${id}: ${r.err}`);
      assert.match(r.err, /not a path inside the repository: refused, nothing written|listing gives ".*" as its hash/);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
    }
    assert.equal(readFileSync(join(victim, "config.json"), "utf8"), "the user's own file");
    assert.equal(lstatSync(join(victim, "config.json")).isSymbolicLink(), false);
    // nothing was downloaded either: every entry is checked before the first byte
    for (const [id] of cases) {
      const blobs = join(cache, `models--${id.replace("/", "--")}`, "blobs");
      assert.ok(!existsSync(blobs) || readdirSync(blobs).length === 0, `${id}: blobs written`);
    }
  } finally {
    await evil.close();
  }
});
