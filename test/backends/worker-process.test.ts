/**
 * The worker as a child process, with stand-in "python" programs (shell scripts that ignore the worker script), so
 * these run where torch is not installed: a worker that writes much to stderr (transformers' progress bars, warnings)
 * is not blocked by a full pipe; a worker that dies, or cannot start, fails every waiting and later request with its
 * last words, instead of leaving them hanging.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerBackend } from "../../src/backends/worker.js";

function fakePython(body: string): string {
  const f = join(mkdtempSync(join(tmpdir(), "crossmon-fake-python-")), "python");
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
}

test("worker: 1 MB written to stderr before answering does not block it", async () => {
  // far beyond a pipe's buffer (64 KiB on Linux): without a reader on stderr the write never returns
  const w = new WorkerBackend(
    fakePython(
      `head -c 1000000 /dev/zero | tr '\\\\0' x >&2; read line; echo '{"id": 1, "ok": true, "pong": 1}'; read rest`,
    ),
  );
  try {
    const r = await Promise.race([
      w.call("hello", {}),
      new Promise((_, rej) => setTimeout(() => rej(new Error("no answer in 20 s: blocked on stderr")), 20_000)),
    ]);
    assert.deepEqual(r, { id: 1, ok: true, pong: 1 });
  } finally {
    w.close();
  }
});

test("worker: one that dies fails the waiting request and every later one with its last stderr lines", async () => {
  const w = new WorkerBackend(
    fakePython(
      `read line; printf 'Loading 10%%\\rLoading 100%%\\nTraceback (most recent call last):\\nModuleNotFoundError: No module named torch\\n' >&2; exit 3`,
    ),
  );
  await assert.rejects(w.call("score", {}), (e: Error) => {
    assert.match(
      e.message,
      /the worker exited \(code 3\); its last words:\nLoading 100%\nTraceback \(most recent call last\):\nModuleNotFoundError: No module named torch$/,
    );
    return true;
  });
  await assert.rejects(w.call("score", {}), /the worker exited \(code 3\)/);
});

test("worker: a Python that does not exist is a clear error, not a crash", async () => {
  const w = new WorkerBackend(join(tmpdir(), "no-such-python-here"));
  await assert.rejects(w.call("hello", {}), /the worker could not start \(.*no-such-python-here\): spawn .* ENOENT/);
});

test("worker: a line on stdout that is not the protocol (a library's print) is set aside, not a crash", async () => {
  const w = new WorkerBackend(
    fakePython(`read line; echo 'Some weights were not initialized'; echo '{"id": 1, "ok": true}'; read rest`),
  );
  try {
    assert.deepEqual(await w.call("hello", {}), { id: 1, ok: true });
  } finally {
    w.close();
  }
});

test("worker: a model named by hub id is sent as its snapshot folder in the Hugging Face cache", async () => {
  const cache = mkdtempSync(join(tmpdir(), "crossmon-hfcache-"));
  const sha = "c".repeat(40);
  const snap = join(cache, "models--acme--tiny", "snapshots", sha);
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(cache, "models--acme--tiny", "refs"));
  writeFileSync(join(cache, "models--acme--tiny", "refs", "main"), sha);
  writeFileSync(join(snap, "config.json"), "{}");
  writeFileSync(join(snap, "model.safetensors"), "");
  // the stand-in answers with the request it got
  const w = new WorkerBackend(fakePython(`read line; printf '{"id": 1, "ok": true, "got": %s}\\n' "$line"; read rest`));
  const before = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  try {
    const r = (await w.call("score", { model: { base: "acme/tiny" } })) as { got: { model: { base: string } } };
    assert.equal(r.got.model.base, snap);
    await assert.rejects(w.call("score", { model: { base: "acme/absent" } }), /acme\/absent: .*crossmon pull/);
  } finally {
    if (before === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = before;
    w.close();
  }
});
