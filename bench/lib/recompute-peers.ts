/**
 * Recomputes the user-shape figures of bench/results/peers.json from the rounds it recorded (each process's figures
 * are kept whole), after a change to how they are summarised; the measurement's commit, CPU and threads stay, and
 * the file says when and why it was recomputed. `npm run docs` then renders it.
 *   node --import tsx bench/lib/recompute-peers.ts "WHY"
 */
import { readFileSync, writeFileSync } from "node:fs";
import { recomputeUserShapes } from "./user-shapes.js";

const why = process.argv[2];
if (!why) throw new Error('usage: recompute-peers.ts "WHY"');
const file = "bench/results/peers.json";
const meta = JSON.parse(readFileSync(file, "utf8"));
meta.records = meta.records.map((r: Record<string, unknown>) =>
  r.user_shapes ? { ...r, ...recomputeUserShapes(r) } : r,
);
meta.recomputed = { date: new Date().toISOString().slice(0, 10), why };
writeFileSync(file, `${JSON.stringify(meta, null, 2)}\n`);
console.error(`recomputed the user shapes of ${file}`);
