"""PyTorch peer for `npm run bench -- attention`: the attention of a training step alone, as transformers runs it in
bfloat16 (scaled_dot_product_attention, causal, the query heads sharing their key/value heads), forward and backward
from a given output gradient. After one untimed run, the median of REPEATS timed runs of each. Prints one JSON line.

usage: python3 bench/torch_attention.py TOKENS HEADS KV_HEADS HEAD_SIZE THREADS REPEATS
"""
import json, sys, time
import torch

T, nH, nKV, hd, threads, reps = (int(a) for a in sys.argv[1:7])
torch.set_num_threads(threads)
g = torch.Generator().manual_seed(7)


def rand(heads):
    return torch.randn(1, heads, T, hd, generator=g).to(torch.bfloat16)


q, k, v, dout = rand(nH).requires_grad_(), rand(nKV).requires_grad_(), rand(nKV).requires_grad_(), rand(nH)


def forward():
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)


def both():
    forward().backward(dout)
    q.grad = k.grad = v.grad = None


def median_seconds(f):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2] if len(ts) % 2 else (ts[len(ts) // 2 - 1] + ts[len(ts) // 2]) / 2


def forward_only():
    with torch.no_grad():
        forward()


fwd, total = median_seconds(forward_only), median_seconds(both)
print(json.dumps({"forward_ms": round(fwd * 1000, 2), "forward_backward_ms": round(total * 1000, 2),
                  "torch": torch.__version__}))
