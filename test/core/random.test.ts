import assert from "node:assert/strict";
import { test } from "node:test";
import { fnv1a } from "../../src/core/hash.js";
import { Rng, deriveSeed } from "../../src/core/random.js";

test("deriveSeed gives each named use its own stable seed", () => {
  assert.equal(deriveSeed(0, "stage.0.mixture"), deriveSeed(0, "stage.0.mixture"));
  const names = ["stage.0.mixture", "stage.0.schedule", "stage.1.mixture", "instruction-pool", "trace.0", "trace.1"];
  const seeds = names.flatMap((n) => [0, 1, 2, 1234].map((s) => deriveSeed(s, n)));
  assert.equal(new Set(seeds).size, seeds.length, "two uses share a seed");
  for (const s of seeds) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
  // the world's domains were always drawn from fnv1a("SEED\0DOMAIN"): deriveSeed keeps those draws
  assert.equal(deriveSeed(3, "reviews"), fnv1a("3\0reviews"));
  assert.throws(() => deriveSeed(0.5, "x"), /not an integer/);
});

test("Rng.shuffle is a seeded permutation", () => {
  const a = new Rng(deriveSeed(7, "order")).shuffle(Array.from({ length: 50 }, (_, i) => i));
  const b = new Rng(deriveSeed(7, "order")).shuffle(Array.from({ length: 50 }, (_, i) => i));
  const c = new Rng(deriveSeed(8, "order")).shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
});
