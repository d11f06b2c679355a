"""PyTorch CPU reference for `npm run bench -- engine` (and the training step of `peers`): the same Llama-family
model, weights, batch and optimiser as crossmon's bench, timed for training steps and prefill. Prints one JSON line.

usage: python3 bench/torch_engine.py WORKDIR THREADS STEPS
WORKDIR holds config.json, model.safetensors (F32) and batch.json written by the bench.
"""
import json, sys
import torch
import torch.nn.functional as F
from torch_model import Llama, timed

work, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
batch = json.load(open(f"{work}/batch.json"))
B, T = batch["B"], batch["T"]
tokens = torch.tensor(batch["tokens"]).view(B, T)
targets = torch.tensor(batch["targets"]).view(B, T)
model = Llama(work, trainable=True)
opt = torch.optim.AdamW(model.W.values(), lr=1e-4, weight_decay=0.1)


def train_step():
    opt.zero_grad()
    logits = model.forward(tokens)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.W.values(), 1.0)
    opt.step()
    return loss.item()


def prefill():
    with torch.no_grad():
        model.forward(tokens)


t_train = timed(train_step, steps)
t_prefill = timed(prefill, steps)
print(json.dumps({"threads": threads, "train_tokens_per_s": B * T / t_train, "prefill_tokens_per_s": B * T / t_prefill, "torch": torch.__version__}))
