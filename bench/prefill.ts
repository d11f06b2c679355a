/**
 * `npm run bench -- prefill`: the peers bench's user-shape prefill against PyTorch alone (bench/lib/user-shapes.ts:
 * one prompt of each length, logits at its last position, a random BF16 checkpoint of each user shape; PyTorch +
 * transformers in bfloat16), the two taking turns within each round, read against this CPU's floor
 * (bench/lib/prefill-floor.ts; bench/lib/against-torch.ts says what each figure is): `crossmon_over_floor` is
 * crossmon's time over the time the prefill's multiply-adds alone would take at the CPU's BF16 dot-product peak,
 * `ceiling_vs_torch` PyTorch's over it, the largest ratio to PyTorch that any program could reach on this CPU.
 * Minutes where `peers` (which also runs llama.cpp) takes an hour. Prints one JSON line.
 *   npm run bench -- prefill [--shapes A,B] [--lengths 1024,4096] [--rounds N]
 */
import { againstTorch } from "./lib/against-torch.js";

console.log(JSON.stringify(againstTorch("prefill", process.argv.slice(2))));
