"""PyTorch CPU peer for `npm run bench -- peers`: prefill of one prompt (logits at its last position, as a monitor is
scored) and greedy decode with a KV cache after it, on the weights crossmon wrote. Prints one JSON line.

usage: python3 bench/torch_peers.py WORKDIR THREADS PROMPT_TOKENS NEW_TOKENS REPEATS [bf16]
(bf16: the weights cast to bfloat16 and every operation in bfloat16)
"""
import json, sys, time
import torch
from torch_model import Llama, timed

work, threads, T, N, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
bf16 = len(sys.argv) > 6 and sys.argv[6] == "bf16"
model = Llama(work, dtype=torch.bfloat16 if bf16 else torch.float32)
g = torch.Generator().manual_seed(7)
vocab = model.head.shape[0]
prompt = torch.randint(0, vocab, (1, T), generator=g)


def prefill():
    with torch.no_grad():
        model.forward(prompt, last_only=True)


def decode():
    """seconds for N greedy tokens after the prompt (the prompt's own prefill not counted)"""
    with torch.no_grad():
        cache = [None] * model.L
        nxt = model.forward(prompt, cache, last_only=True)[:, -1].argmax(-1, keepdim=True)
        t0 = time.perf_counter()
        for _ in range(N):
            nxt = model.forward(nxt, cache)[:, -1].argmax(-1, keepdim=True)
        return time.perf_counter() - t0


t_prefill = timed(prefill, reps)
decode()
t_decode = sorted(decode() for _ in range(max(1, reps // 2)))[max(1, reps // 2) // 2]
print(json.dumps({"threads": threads, "dtype": "bf16" if bf16 else "f32", "prefill_tokens_per_s": T / t_prefill, "decode_tokens_per_s": N / t_decode, "torch": torch.__version__}))
