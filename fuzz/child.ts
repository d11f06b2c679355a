/**
 * One process of `npm run fuzz`: runs cases one after another and reports each on stdout as a JSON line (its start,
 * then its outcome with the process's memory), so that the parent can name the case that crashed or hung it.
 * Arguments: SEED FIRST_CASE LAST_CASE (the case number picks the target and seeds its input).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../src/core/errors.js";
import { deriveSeed, Rng } from "../src/core/random.js";
import { TARGETS } from "./targets.js";

const [seed, first, last] = process.argv.slice(2).map(Number);
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
// the loaders' own warnings are not what is tested here
process.stderr.write = (() => true) as typeof process.stderr.write;

for (let c = first; c < last; c++) {
  const target = TARGETS[c % TARGETS.length];
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fuzz-"));
  say({ case: c, target: target.name, start: true });
  const t0 = performance.now();
  let outcome: { ok: true } | { unmade: string } | { clean: boolean; error: string };
  let load: (() => unknown) | null = null;
  try {
    load = await target.make(new Rng(deriveSeed(seed, `case ${c}`)), dir);
  } catch (e) {
    outcome = { unmade: (e as Error).message.slice(0, 200) }; // the harness could not write this input
  }
  if (load) {
    try {
      await load();
      outcome = { ok: true };
    } catch (e) {
      const error = `${(e as Error).name}: ${(e as Error).message}`.slice(0, 400);
      outcome = { clean: e instanceof InputError, error };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const ms = Math.round(performance.now() - t0);
  say({ case: c, target: target.name, ms, rss: process.memoryUsage().rss, ...outcome! });
}
