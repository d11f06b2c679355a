"""The PyTorch worker at the sizes researchers use, against a plain transformers + peft loop: for any GPU box.

    python bench/worker_gpu.py OUT_DIR [--shapes 8b,1.7b] [--train 512] [--score 2000] [--budget-s 200]
    python bench/worker_gpu.py OUT_DIR --toy          # the same script at toy size, on a CPU (a dry run)

For each shape it makes a random-weight checkpoint of that shape on the machine itself (transformers from_config, no
download; bfloat16), then, on the same prompts (random token ids, lengths 300-1,500: transcript lengths):
  - worker: crossmon's protocol, python/worker.py as a child process fed JSON lines as crossmon feeds it: 1-token-SFT
    LoRA training (loss on the last token only), then single-token scoring;
  - baseline: the loop a researcher would write: the model and a peft LoRA, padded batches of 8 in the prompts' order,
    labels -100 but the answer token for training, model(...).logits at each prompt's last token for scoring.
It writes OUT_DIR/worker_gpu.json (and prints it): tokens/s, examples/s and peak GPU memory for each, and
worker_vs_baseline for training and for scoring. Each phase stops at its share of --budget-s, and its rate is
measured on what ran (the counts that ran are in the JSON).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Qwen3Config

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "..", "python", "worker.py")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

SHAPES = {
    # Qwen3-8B and Qwen3-1.7B as their configs give them
    "8b": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
               num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=False),
    "1.7b": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True),
    "toy": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, vocab_size=512, tie_word_embeddings=True),
}
LORA = dict(r=16, alpha=32, dropout=0.05, targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                   "down_proj"])
BATCH = 8
LR = 1e-4


def make_checkpoint(shape, out):
    torch.manual_seed(0)
    config = Qwen3Config(**SHAPES[shape], max_position_embeddings=4096, rope_theta=1e6)
    dtype = torch.bfloat16 if DEVICE == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(out, safe_serialization=True)
    del model


def prompts(n, lo, hi, vocab, seed):
    rng = random.Random(seed)
    return [[rng.randrange(3, vocab) for _ in range(rng.randint(lo, hi))] for _ in range(n)]


def peak_reset():
    if DEVICE == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_gib():
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if DEVICE == "cuda" else None


class Worker:
    """python/worker.py over JSON lines, as crossmon's WorkerBackend drives it."""

    def __init__(self, env):
        self.p = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env={**os.environ, **env})
        self.n = 0

    def call(self, op, **body):
        self.n += 1
        self.p.stdin.write(json.dumps({"id": self.n, "op": op, **body}) + "\n")
        self.p.stdin.flush()
        out = json.loads(self.p.stdout.readline())
        if not out.get("ok"):
            raise RuntimeError(out.get("error"))
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def timed(items, batch, budget, step):
    """Runs step(chunk) over items, batch at a time, until done or past the budget (s); an out-of-memory error halves
    the batch and retries, as one would by hand. The rates are over what ran."""
    t0, i, done, tokens, ooms = time.time(), 0, 0, 0, []
    while i < len(items):
        chunk = items[i: i + batch]
        try:
            step(chunk)
        except torch.OutOfMemoryError:
            if batch == 1:
                raise
            torch.cuda.empty_cache()
            batch //= 2
            ooms.append(batch)
            continue
        i += len(chunk)
        done += len(chunk)
        tokens += sum(len(p) for p in chunk)
        if time.time() - t0 > budget:
            break
    sec = max(time.time() - t0, 1e-9)
    return {"examples": done, "tokens": tokens, "seconds": round(sec, 1), "tokens_per_s": round(tokens / sec),
            "examples_per_s": round(done / sec, 2), "batch": batch, **({"oom_batches": ooms} if ooms else {})}


def run_worker(ckpt, train, score, budget, out):
    dtype = "bfloat16" if DEVICE == "cuda" else "float32"
    w = Worker({"CROSSMON_WORKER_DTYPE": dtype})
    w.call("score", model={"base": ckpt, "adapter": None}, prompts=[score[0][:8]], candidates=[1, 2])  # load first
    state = {"adapter": None, "loss": None}
    lora = {"r": LORA["r"], "alpha": LORA["alpha"], "dropout": LORA["dropout"], "targets": LORA["targets"]}

    def train_step(chunk):
        # batches of 8 sequences; crossmon sends a stage's steps in one request, here 8 steps a request so the phase
        # can stop at its budget
        batches = [[{"ids": p, "weights": [0] * (len(p) - 1) + [1]} for p in chunk[i: i + BATCH]]
                   for i in range(0, len(chunk), BATCH)]
        r = w.call("train", model={"base": ckpt}, lora=lora, batches=batches, lr=LR, init_adapter=state["adapter"],
                   out=os.path.join(out, "adapter"))
        state.update(adapter=r["adapter"], loss=r["losses"][-1])

    res = {"train": timed(train, BATCH * 8, budget, train_step)}
    res["train"]["last_loss"] = state["loss"]
    res["score"] = timed(score, 256, budget, lambda chunk: w.call(
        "score", model={"base": ckpt, "adapter": state["adapter"]}, prompts=chunk, candidates=[1, 2]))
    res["peak_gpu_gib"] = w.call("hello").get("peak_gpu_gib")
    w.close()
    return res


def padded(seqs):
    n = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(DEVICE), mask.to(DEVICE)


def run_baseline(ckpt, train, score, budget):
    """What a researcher would write: peft LoRA, padded batches in order, labels for the answer token only."""
    dtype = torch.bfloat16 if DEVICE == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=dtype).to(DEVICE)
    model = get_peft_model(model, LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                                             target_modules=LORA["targets"], task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    peak_reset()

    def train_step(chunk):
        ids, mask = padded(chunk)
        labels = torch.full_like(ids, -100)
        for j, p in enumerate(chunk):
            labels[j, len(p) - 1] = ids[j, len(p) - 1]
        opt.zero_grad()
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()

    @torch.no_grad()
    def score_step(chunk):
        ids, mask = padded(chunk)
        logits = model(input_ids=ids, attention_mask=mask).logits
        last = logits[torch.arange(len(chunk)), mask.sum(1) - 1].float()
        F.log_softmax(last, dim=-1)[:, [1, 2]].tolist()

    model.train()
    res = {"train": timed(train, BATCH, budget, train_step)}
    model.eval()
    res["score"] = timed(score, BATCH, budget, score_step)
    res["peak_gpu_gib"] = peak_gib()
    del model, opt
    if DEVICE == "cuda":
        torch.cuda.empty_cache()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--shapes", default="8b,1.7b")
    ap.add_argument("--train", type=int, default=512)
    ap.add_argument("--score", type=int, default=2000)
    ap.add_argument("--min-len", type=int, default=300)
    ap.add_argument("--max-len", type=int, default=1500)
    ap.add_argument("--budget-s", type=float, default=200, help="seconds per shape; each of four phases gets a quarter")
    ap.add_argument("--toy", action="store_true", help="toy shape and counts (a dry run on a CPU)")
    a = ap.parse_args()
    if a.toy:
        a.shapes, a.train, a.score, a.min_len, a.max_len, a.budget_s = "toy", 32, 64, 30, 150, 60
    os.makedirs(a.out, exist_ok=True)
    report = {"device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu", "torch": torch.__version__,
              "shapes": {}}
    for shape in a.shapes.split(","):
        t0 = time.time()
        work = tempfile.mkdtemp(prefix=f"crossmon-worker-{shape}-")  # checkpoints stay out of OUT_DIR (16 GB at 8B)
        ckpt = os.path.join(work, "checkpoint")
        make_checkpoint(shape, ckpt)
        vocab = SHAPES[shape]["vocab_size"]
        train = prompts(a.train, a.min_len, a.max_len, vocab, 1)
        score = prompts(a.score, a.min_len, a.max_len, vocab, 2)
        phase = a.budget_s / 4
        worker = run_worker(ckpt, train, score, phase, work)
        baseline = run_baseline(ckpt, train, score, phase)
        shutil.rmtree(work, ignore_errors=True)
        report["shapes"][shape] = {
            "worker": worker,
            "baseline": baseline,
            "worker_vs_baseline": {
                k: round(worker[k]["tokens_per_s"] / max(1, baseline[k]["tokens_per_s"]), 2) for k in ("train", "score")
            },
            "seconds": round(time.time() - t0),
        }
        with open(os.path.join(a.out, "worker_gpu.json"), "w") as f:
            json.dump(report, f, indent=2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
