/**
 * `npm run bench -- lora`: the peers bench's LoRA step alone (bench/lib/user-shapes.ts: r 16, every linear layer,
 * one 1,024-token example, loss on its last token, a random BF16 checkpoint of each user shape), crossmon against
 * PyTorch + peft in bfloat16 taking turns within each round, read against this CPU's floor (bench/lib/lora-floor.ts;
 * bench/lib/against-torch.ts says what each figure is): `crossmon_over_floor` is crossmon's step time over the time
 * the base's products alone would take at the CPU's BF16 dot-product peak, `ceiling_vs_torch_peft` PyTorch's over
 * it, the largest ratio to PyTorch that any program doing those products on this CPU could reach. Prints one JSON
 * line.
 *   npm run bench -- lora [--shapes A,B] [--rounds N]
 */
import { againstTorch } from "./lib/against-torch.js";

console.log(JSON.stringify(againstTorch("lora", process.argv.slice(2))));
