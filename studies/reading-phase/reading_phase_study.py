"""A recipe study of the base model's reading phase on a GPU machine, where one run takes seconds.

Data from `npx tsx studies/reading-phase/export.ts MODEL DIR` (the phase's exact token stream and the shipped run's
row order, every built-in task's test prompts for world seeds 0 and 1) and the phase-2 weights. The phase is
re-implemented in PyTorch (AdamW as crossmon's, weight decay on matrices only, linear warm-up then cosine to 10%,
clipping at 1, loss = sum(weight * nll) / sum(weight) over the 16 rows of a step), checked against the shipped run's
training curve, then run with other batch orders (seeds) and lengths. Every model is scored as `crossmon eval` does
(P(yes) over the two answer tokens at the prompt's end, AUROC with a 1,000-draw bootstrap CI).

Questions: how much do the zero-shot counts move with the batch order alone, and does a longer phase move them more?

usage: python3 studies/reading-phase/reading_phase_study.py DATA_DIR MODEL_DIR OUT_DIR [--budget-s S] [--runs NAME:SEED:STEPS[:RUN] ...]
(SEED "shipped": the shipped run's batch order; RUN: run only the first RUN steps of the schedule and compare losses)
"""
import argparse, gzip, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # the worker
from worker import padded  # noqa: E402  (the worker's right-padding, on the same device)

DEV = "cuda" if torch.cuda.is_available() else "cpu"
# full float32 matrix products, as crossmon's engine (no TF32 on the GPU)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def load_stream(path):
    buf = gzip.open(path).read()
    n = int.from_bytes(buf[:4], "little")
    ids = np.frombuffer(buf, dtype=np.int32, count=n, offset=4)
    w = np.frombuffer(buf, dtype=np.float32, count=n, offset=4 + 4 * n)
    return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(w.copy())


def make_model(model_dir, params):
    cfg = LlamaConfig(**json.load(open(os.path.join(model_dir, "config.json"))))
    m = LlamaForCausalLM(cfg)
    missing, unexpected = m.load_state_dict(params, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    m.tie_weights()
    return m.to(DEV).float()


def lr_at(step, peak, warmup, total, min_ratio):
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def train(model, ids, w, rec, steps, order, log_every=0, run_steps=None):
    """steps: the schedule's length; run_steps (default steps): how many of them to run (a check of the first few)"""
    L, R = rec["seqLen"], rec["rowsPerStep"]
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": rec["weightDecay"]}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=rec["lr"], betas=(0.9, 0.999), eps=1e-8, fused=DEV == "cuda")
    ids, w = ids.to(DEV), w.to(DEV)
    losses = []
    model.train()
    for step in range(run_steps or steps):
        rows = torch.tensor(order(step), device=DEV)
        idx = rows[:, None] * L + torch.arange(L + 1, device=DEV)[None, :]
        x, ww = ids[idx], w[idx]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, rec["lr"], max(1, steps // 20), steps, rec["minRatio"])
        logits = model(input_ids=x[:, :-1]).logits.float()
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none")
        tw = ww[:, 1:].reshape(-1)
        loss = (nll * tw).sum() / tw.sum().clamp_min(1e-9)  # a step with no weighted token: loss 0, zero gradients, as crossmon
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), rec["maxGradNorm"])
        opt.step()
        losses.append(loss.item() if log_every and step % log_every == 0 or step < 5 else float("nan"))
    model.eval()
    return losses


@torch.no_grad()
def score(model, prompts, cands, batch=64):
    """P(positive answer) over the two answer tokens at each prompt's end (right-padded batches)."""
    out = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i:i + batch]
        x, mask = padded(chunk)
        logits = model(input_ids=x, attention_mask=mask).logits.float()
        last = logits[torch.arange(len(chunk), device=DEV), mask.sum(1) - 1]
        lp = F.log_softmax(last, -1)[:, cands]
        out.extend(torch.softmax(lp, -1)[:, 0].tolist())
    return out


def auroc(labels, scores):
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    # Mann-Whitney with ties counted as half
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return (r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def auroc_ci(labels, scores, draws=1000, seed=0):
    rng = np.random.default_rng(seed)
    labels, scores = np.asarray(labels), np.asarray(scores)
    vals = []
    for _ in range(draws):
        k = rng.integers(0, len(labels), len(labels))
        v = auroc(labels[k], scores[k])
        if not math.isnan(v):
            vals.append(v)
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


def evaluate(model, evalset):
    rows = []
    for t in evalset:
        s = score(model, t["prompts"], t["candidates"])
        lo, hi = auroc_ci(t["labels"], s)
        rows.append({"task": t["task"], "auroc": float(auroc(t["labels"], s)), "lo": lo, "hi": hi})
    counts = {"above": int(sum(r["auroc"] > 0.5 for r in rows)), "ci_above": int(sum(r["lo"] > 0.5 for r in rows)), "ci_below": int(sum(r["hi"] < 0.5 for r in rows)),
              "mean_auroc": float(np.mean([r["auroc"] for r in rows]))}
    return rows, counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--budget-s", type=float, default=420)
    ap.add_argument("--no-shipped-eval", action="store_true")
    ap.add_argument("--runs", nargs="*", default=["shipped:shipped:2000", "s1:1:2000", "s2:2:2000", "s3:3:2000", "s4:4:2000",
                                                   "long1:1:6000", "long2:2:6000", "long3:3:6000", "s5:5:2000", "s6:6:2000"])
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    results = open(os.path.join(a.out, "study.jsonl"), "a")
    rec = json.load(open(os.path.join(a.data, "recipe.json")))
    ids, w = load_stream(os.path.join(a.data, "reading.bin.gz"))
    evals = {ws: json.load(open(os.path.join(a.data, f"eval-w{ws}.json"))) for ws in (0, 1)}
    phase2 = load_file(os.path.join(a.data, "phase2.safetensors"))
    shipped = load_file(os.path.join(a.model, "model.safetensors"))
    shipped_losses = [json.loads(l)["loss"] for l in open(os.path.join(a.data, "shipped-metrics.jsonl"))]

    def emit(obj):
        obj["elapsed_s"] = round(time.time() - t0, 1)
        print(json.dumps({k: v for k, v in obj.items() if k not in ("tasks_w0", "tasks_w1")}), flush=True)
        results.write(json.dumps(obj) + "\n")
        results.flush()

    # the shipped model, scored here: its AUROCs must be crossmon eval's (the scorer is checked before it is trusted)
    if not a.no_shipped_eval:
        m = make_model(a.model, shipped)
        r0, c0 = evaluate(m, evals[0])
        r1, c1 = evaluate(m, evals[1])
        emit({"run": "shipped-model", "w0": c0, "w1": c1, "tasks_w0": r0, "tasks_w1": r1})

    rows_total = (len(ids) - 1) // rec["seqLen"]
    per_run = None
    for spec in a.runs:
        name, seed, steps, *run = spec.split(":")
        steps = int(steps)
        run_steps = int(run[0]) if run else None
        if per_run is not None and time.time() - t0 + per_run * steps / 2000 > a.budget_s:
            emit({"run": name, "skipped": "budget"})
            continue
        if seed == "shipped":
            order = lambda s: rec["order"][s]
        else:
            perm = np.random.default_rng(int(seed)).permutation(rows_total)
            R = rec["rowsPerStep"]
            order = lambda s, perm=perm, R=R: [int(perm[(s * R + k) % rows_total]) for k in range(R)]
        torch.manual_seed(0)
        m = make_model(a.model, phase2)
        t1 = time.time()
        losses = train(m, ids, w, rec, steps, order, log_every=100, run_steps=run_steps)
        if run_steps:
            emit({"run": name, "first_losses": losses[:5], "shipped_first_losses": shipped_losses[:5], "seconds": round(time.time() - t1, 1)})
            continue
        r0, c0 = evaluate(m, evals[0])
        r1, c1 = evaluate(m, evals[1])
        took = time.time() - t1
        per_run = took * 2000 / steps if per_run is None else max(per_run, took * 2000 / steps)
        emit({"run": name, "seed": seed, "steps": steps, "seconds": round(took, 1), "first_losses": losses[:5],
              "losses_every_100": [x for x in losses if not math.isnan(x)],
              "shipped_losses_every_100": shipped_losses[::100] if seed == "shipped" else None, "w0": c0, "w1": c1, "tasks_w0": r0, "tasks_w1": r1})
    results.close()


if __name__ == "__main__":
    main()
