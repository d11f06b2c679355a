/**
 * The native kernels under AddressSanitizer and UndefinedBehaviorSanitizer: the addon built again with both (into a
 * temporary folder) runs the kernel tests, so an out-of-bounds read or write, a signed overflow or a misaligned access
 * fails a test instead of passing by luck; and the thread pool's callers test runs under ThreadSanitizer. Skipped,
 * with the reason, where there is no C++ compiler with those runtimes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const NATIVE = join(ROOT, "src", "engine", "kernels", "native");
const cxx = process.env.CXX ?? "g++";
const runtime = (lib: string) => spawnSync(cxx, [`-print-file-name=${lib}`], { encoding: "utf8" }).stdout?.trim() ?? "";
const asan = runtime("libasan.so");
const nodeHeaders = join(dirname(process.execPath), "..", "include", "node");
const skip = !existsSync(asan)
  ? `no AddressSanitizer runtime for ${cxx}`
  : !existsSync(join(nodeHeaders, "node_api.h"))
    ? `no Node headers at ${nodeHeaders}`
    : false;

test("the kernel tests pass on an AddressSanitizer + UndefinedBehaviorSanitizer build of the addon", {
  skip,
  timeout: 600_000,
}, () => {
  const out = join(mkdtempSync(join(tmpdir(), "crossmon-asan-")), "crossmon_kernels.node");
  // the sources the addon is built from, as binding.gyp lists them
  const gyp = JSON.parse(readFileSync(join(ROOT, "binding.gyp"), "utf8"));
  const sources = (gyp.targets[0].sources as string[]).map((f) => join(NATIVE, basename(f)));
  const addonApi = dirname(createRequire(import.meta.url).resolve("node-addon-api/package.json"));
  const build = spawnSync(
    cxx,
    [
      ...["-O1", "-g", "-std=c++17", "-shared", "-fPIC", "-fno-omit-frame-pointer"],
      ...["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
      ...["-DNAPI_VERSION=8", "-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS", `-I${addonApi}`, `-I${nodeHeaders}`],
      ...sources,
      ...["-ldl", "-lpthread", "-o", out],
    ],
    { encoding: "utf8" },
  );
  assert.equal(build.status, 0, build.stderr);
  // NODE_TEST_CONTEXT left out: with it, the inner test run would report to this one's runner instead of printing
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const env = {
    ...outer,
    CROSSMON_ADDON: out,
    // the sanitizer's runtime first in the process (node itself is not built with it); Node's own allocations at exit
    // are not the kernels' leaks
    LD_PRELOAD: asan,
    ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1",
    UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
  };
  const probe = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      'import { readFileSync } from "node:fs"; import { nativeKernels } from "./src/engine/kernels/index.ts";' +
        'console.log(JSON.stringify({ loaded: nativeKernels() !== null, asan: readFileSync("/proc/self/maps", "utf8")' +
        '.includes("libasan") }));',
    ],
    { cwd: ROOT, env, encoding: "utf8" },
  );
  assert.equal(probe.status, 0, probe.stderr);
  assert.deepEqual(JSON.parse(probe.stdout), { loaded: true, asan: true }, "the sanitized build is what runs");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", join("test", "engine", "kernels.test.ts")], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 540_000,
  });
  const tail = `${r.stdout.slice(-3000)}\n${r.stderr.slice(-6000)}`;
  assert.equal(r.signal, null, `killed by ${r.signal}: ${tail}`);
  assert.equal(r.status, 0, tail);
  assert.match(r.stdout, /^# fail 0$/m);
  assert.doesNotMatch(r.stderr, /ERROR: AddressSanitizer|runtime error:/);
});

test("the thread pool's callers test passes under ThreadSanitizer", {
  skip: existsSync(runtime("libtsan.so")) ? false : `no ThreadSanitizer runtime for ${cxx}`,
}, () => {
  const exe = join(mkdtempSync(join(tmpdir(), "crossmon-tsan-")), "pool-callers");
  const build = spawnSync(
    cxx,
    [
      ...["-O1", "-g", "-std=c++17", "-pthread", "-fsanitize=thread", "-o", exe],
      join(ROOT, "test", "engine", "native", "pool-callers.cc"),
      join(NATIVE, "pool.cc"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(build.status, 0, build.stderr);
  const r = spawnSync(exe, ["4"], {
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, TSAN_OPTIONS: "halt_on_error=1" },
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^ok/);
  assert.doesNotMatch(r.stderr, /WARNING: ThreadSanitizer/);
});
