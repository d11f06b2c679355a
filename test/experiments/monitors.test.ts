/**
 * Trained monitors by name: a run's training cells as readable names, exported to GGUF by name (which the file then
 * carries), served as RUN:NAME, with adapter configs that name their base by an absolute path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { monitorName, parseMonitorRef, runMonitor, runMonitors } from "../../src/experiments/monitors.js";
import { runExperiment } from "../../src/experiments/runner.js";
import { MonitorServer } from "../../src/serve/server.js";
import { toyBase } from "../train/toy-base.js";
import { tinySpec } from "./tiny-spec.js";

const ROOT = join(import.meta.dirname, "..", "..");

test("names from plan labels read and stay file-safe", () => {
  assert.equal(monitorName("source:cyber"), "source-cyber");
  assert.equal(monitorName("all but cyber"), "all-but-cyber");
  assert.equal(monitorName("in-domain:agent_dangerous"), "in-domain-agent_dangerous");
  assert.equal(monitorName("if:mixed 25% by examples"), "if-mixed-25pct-by-examples");
});

test("a run's monitors by name: listed, exported to GGUF under their name, served as RUN:NAME", async () => {
  const work = mkdtempSync(join(tmpdir(), "crossmon-monitors-"));
  const dir = join(work, "tiny");
  const spec = tinySpec(toyBase(), {
    experiments: {
      transfer: { sources: { cyber: ["cyber_harm"] }, eval_tasks: ["agent_dangerous"], leave_one_out: false },
    },
  });
  const run = await runExperiment(spec, dir, { quiet: true, log: () => {} });
  run.store.close();
  assert.deepEqual(
    runMonitors(dir)
      .map((m) => m.name)
      .sort(),
    ["in-domain-agent_dangerous", "source-cyber"],
  );
  const m = runMonitor(dir, "source-cyber", "--monitor");
  // the adapter's config names its base by a path that works from anywhere
  const cfg = JSON.parse(readFileSync(join(m.ref.adapter!, "adapter_config.json"), "utf8"));
  assert.ok(
    isAbsolute(cfg.base_model_name_or_path) && existsSync(cfg.base_model_name_or_path),
    cfg.base_model_name_or_path,
  );
  assert.throws(
    () => runMonitor(dir, "nope", "--monitor"),
    /--monitor: no monitor "nope" in the run \(in-domain-agent_dangerous, source-cyber\)/,
  );

  const cli = (args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
      cwd: ROOT,
      encoding: "utf8",
    });
  const listed = cli(["export", dir, "--to", "gguf"]);
  assert.equal(listed.status, 2, listed.stderr);
  assert.match(listed.stderr, /--monitor: name one of the run's monitors \(in-domain-agent_dangerous, source-cyber\)/);
  const out = join(work, "m.gguf");
  const exported = cli(["export", dir, "--to", "gguf", "--monitor", "source-cyber", "--dtype", "f32", "-o", out]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.ok(readFileSync(out).includes(Buffer.from("tiny:source-cyber")), "general.name is the monitor's");

  const ref = parseMonitorRef(`${dir}:source-cyber`);
  assert.deepEqual(ref, { run: dir, name: "source-cyber" });
  assert.equal(parseMonitorRef(`${dir}/adapter`), null);
  // the label status and the viewer show works too
  assert.deepEqual(parseMonitorRef(`${dir}:source:cyber`), { run: dir, name: "source-cyber" });
  assert.equal(runMonitor(dir, "in-domain:agent_dangerous", "--monitor").name, "in-domain-agent_dangerous");
  const server = new MonitorServer({ model: m.ref.base, adapter: m.ref.adapter, name: "tiny:source-cyber", port: 0 });
  const { port } = await server.listen();
  try {
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { data: { id: string }[] };
    assert.equal(models.data[0].id, "tiny:source-cyber");
  } finally {
    await server.close();
  }
  // a server of a plain adapter folder is named after the adapter's run, not its base
  const plain = new MonitorServer({ model: m.ref.base, adapter: m.ref.adapter, port: 0 });
  assert.equal(plain.name, basename(dirname(m.ref.adapter!)));
});
