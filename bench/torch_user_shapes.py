"""PyTorch peer for the user shapes of `npm run bench -- peers`: what a user runs on a BF16 checkpoint, transformers'
model in bfloat16 (its default attention, SDPA) and peft's LoRA. Prefill: one prompt, logits at its last position
only. LoRA: one AdamW step on one example with the loss on its last token, rank 16 on every linear layer. After one
untimed run of the same length, the median of REPEATS timed runs. Prints one JSON line with the peak RSS of this
process.

usage: python3 bench/torch_user_shapes.py prefill|lora CHECKPOINT THREADS TOKENS REPEATS
"""
import json, resource, sys, time
import torch

mode, ckpt, threads, T, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.bfloat16)
g = torch.Generator().manual_seed(7)


def ids(n):
    return torch.randint(0, 4096, (1, n), generator=g)


if mode == "prefill":
    model.eval()

    def run(n):
        with torch.inference_mode():
            model(ids(n), logits_to_keep=1, use_cache=False)

elif mode == "lora":
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.0)

    def run(n):
        x = ids(n)
        logits = model(x, logits_to_keep=1, use_cache=False).logits[:, -1].float()
        loss = torch.nn.functional.cross_entropy(logits, x[:, -1])
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad()

else:
    raise SystemExit(f"unknown mode {mode}")

run(T)
ts = []
for _ in range(reps):
    t0 = time.perf_counter()
    run(T)
    ts.append(time.perf_counter() - t0)
s = sorted(ts)[len(ts) // 2] if len(ts) % 2 else sum(sorted(ts)[len(ts) // 2 - 1 : len(ts) // 2 + 1]) / 2


def peak_rss_mib():
    """This process's own peak RSS (VmHWM): getrusage's maxrss also counts the pre-exec copy of the process that
    started it"""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


print(json.dumps({
    "tokens_per_s": round(T / s, 2),
    "seconds": round(s, 3),
    "peak_rss_mib": peak_rss_mib(),
    "torch": torch.__version__,
}))
