"""The base model's whole recipe (three phases, from random weights) at a larger budget, on a GPU machine.

Data from `npx tsx studies/pretrain-recipe/export.ts MODEL_DIR DIR SCALE` (the three phases' streams exactly as
`crossmon pretrain` builds them, with conversations, questions and stories SCALE times as many; the recipe; every
built-in task's test prompts for world seeds 0 and 1). The recipe as in studies/reading-phase/reading_phase_study.py (crossmon's AdamW with weight decay on
matrices only, linear warm-up then cosine to 10%, clipping at 1, loss = sum(weight * nll) / sum(weight) over a step's
rows), with two changes a GPU wants: ROWS rows per step instead of 16, and bfloat16 autocast in the forward pass
(weights, optimizer and loss in float32). Each phase runs STEPS_MULT times its steps, every phase's learning rate and
warm-up share as in the recipe; the multiplier is the largest of --mults whose projected time fits --budget-s,
measured on the first steps. Every row is drawn from a seeded permutation of the phase's rows, in turn.

Scored as `crossmon eval` does (P(yes) over the two answer tokens, AUROC with a 1,000-draw bootstrap interval) after
the instruction phase and at the end. Writes OUT/TAG.safetensors (the weights as crossmon names them: with DATA_DIR's
config and tokenizer beside it, a model folder), OUT/TAG.curve.jsonl and OUT/TAG.result.json.

usage: python3 studies/pretrain-recipe/pretrain_study.py DATA_DIR OUT_DIR [--tag T] [--rows 64] [--mults 2 1.5 1 0.5] [--budget-s 400]
"""
import argparse, json, lzma, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reading-phase"))
from reading_phase_study import evaluate, lr_at, score  # noqa: E402  (the study's scorer, checked against crossmon eval)

DEV = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True


def load_stream(data, name, info):
    ids = np.frombuffer(lzma.open(os.path.join(data, f"{name}.ids.u16.xz")).read(), dtype=np.uint16)
    codes = np.frombuffer(lzma.open(os.path.join(data, f"{name}.w.u8.xz")).read(), dtype=np.uint8)
    assert len(ids) == len(codes) == info["tokens"], (name, len(ids), len(codes), info["tokens"])
    table = np.asarray(info["weight_table"], dtype=np.float32)
    return torch.from_numpy(ids.astype(np.int64)).to(DEV), torch.from_numpy(table[codes]).to(DEV)


def new_model(data, std, seed):
    cfg = LlamaConfig(**json.load(open(os.path.join(data, "config.json"))))
    cfg.initializer_range = std
    torch.manual_seed(seed)
    m = LlamaForCausalLM(cfg)
    m.tie_weights()
    return m.to(DEV).float()


def clean(x):
    """JSON without NaN (an AUROC of a task whose sample has one label is undefined): null instead"""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def write_result(a, result):
    with open(os.path.join(a.out, f"{a.tag}.result.json"), "w") as f:
        json.dump(clean(result), f, indent=1, allow_nan=False)


def warmup(name, steps):
    """crossmon pretrain's warm-up for a phase of this many steps"""
    return min(200, steps // 10) if name == "pretrain" else steps // 20


class Phase:
    def __init__(self, model, ids, w, rec, ph, rows, steps, seed):
        self.model, self.ids, self.w, self.rec, self.ph, self.rows, self.steps = model, ids, w, rec, ph, rows, steps
        self.L = rec["seqLen"]
        self.n_rows = (len(ids) - 1) // self.L
        self.perm = torch.from_numpy(np.random.default_rng(seed).permutation(self.n_rows)).to(DEV)
        self.warmup = max(1, ph["warmup"])
        decay = [p for p in model.parameters() if p.dim() >= 2]
        nodecay = [p for p in model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": rec["weightDecay"]}, {"params": nodecay, "weight_decay": 0.0}],
                                     lr=ph["lr"], betas=(0.9, 0.999), eps=1e-8, fused=DEV == "cuda")
        self.ar = torch.arange(self.L + 1, device=DEV)[None, :]

    def step(self, s):
        k = (s * self.rows + torch.arange(self.rows, device=DEV)) % self.n_rows
        idx = self.perm[k][:, None] * self.L + self.ar
        x, ww = self.ids[idx], self.w[idx]
        for g in self.opt.param_groups:
            g["lr"] = lr_at(s, self.ph["lr"], self.warmup, self.steps, self.rec["minRatio"])
        with torch.autocast(DEV, dtype=torch.bfloat16, enabled=DEV == "cuda"):
            logits = self.model(input_ids=x[:, :-1]).logits
        nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none")
        tw = ww[:, 1:].reshape(-1)
        loss = (nll * tw).sum() / tw.sum().clamp_min(1e-9)  # a step with no weighted token: loss 0, zero gradients, as crossmon
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.rec["maxGradNorm"])
        self.opt.step()
        return loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--mults", type=float, nargs="*", default=[2, 1.5, 1, 0.5])
    ap.add_argument("--budget-s", type=float, default=400, help="for training alone (scoring and saving come after)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="a check: at most this many steps per phase")
    ap.add_argument("--tag", default="run", help="names the outputs: OUT/TAG.result.json, TAG.curve.jsonl, TAG.safetensors")
    ap.add_argument("--save-dtype", choices=["float32", "bfloat16"], default="float32", help="bfloat16 halves the file (crossmon reads both)")
    ap.add_argument("--scores", action="store_true", help="also write the final model's score of every world-0 prompt (a check against crossmon's engine)")
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    rec = json.load(open(os.path.join(a.data, "recipe.json")))
    streams = {ph["name"]: load_stream(a.data, ph["name"], rec["streams"][ph["name"]]) for ph in rec["phases"]}
    evals = {ws: json.load(open(os.path.join(a.data, f"eval-w{ws}.json"))) for ws in (0, 1)}
    print(json.dumps({"device": torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu", "torch": torch.__version__,
                      "tokens": {k: len(v[0]) for k, v in streams.items()}, "load_s": round(time.time() - t0, 1)}), flush=True)

    # the speed of a step, measured on a throw-away model, picks the largest multiplier that fits the budget
    base_steps = sum(ph["steps"] for ph in rec["phases"])
    probe = Phase(new_model(a.data, rec["initStd"], a.seed), *streams["pretrain"], rec, rec["phases"][0], a.rows, 100, a.seed)
    for s in range(5):
        probe.step(s)
    if DEV == "cuda":
        torch.cuda.synchronize()
    t1 = time.time()
    for s in range(5, 35):
        probe.step(s)
    if DEV == "cuda":
        torch.cuda.synchronize()
    per_step = (time.time() - t1) / 30
    del probe
    fits = [m for m in a.mults if m * base_steps * per_step <= a.budget_s]
    mult = max(fits) if fits else min(a.mults)
    plan = {"rows": a.rows, "steps_mult": mult, "per_step_s": round(per_step, 4), "tokens_mult": mult * a.rows / rec["rowsPerStep"],
            "phases": [{**ph, "steps": round(ph["steps"] * mult), "warmup": warmup(ph["name"], round(ph["steps"] * mult))} for ph in rec["phases"]]}
    print(json.dumps({"plan": plan}), flush=True)

    model = new_model(a.data, rec["initStd"], a.seed)
    curve = open(os.path.join(a.out, f"{a.tag}.curve.jsonl"), "w")
    result = {"plan": plan, "scale": rec["scale"], "seed": a.seed, "evals": {}}
    for n, ph in enumerate(plan["phases"]):
        steps = min(ph["steps"], a.max_steps) if a.max_steps else ph["steps"]
        p = Phase(model, *streams[ph["name"]], rec, ph, a.rows, ph["steps"], a.seed + 99 + 100 * n)
        t2 = time.time()
        model.train()
        acc, cnt = 0.0, 0
        for s in range(steps):
            loss = p.step(s)
            if s % 50 == 0 or s == steps - 1:
                l = loss.item()
                curve.write(json.dumps({"phase": ph["name"], "step": s, "loss": l, "lr": p.opt.param_groups[0]["lr"]}) + "\n")
                if s % 500 == 0 or s == steps - 1:
                    print(json.dumps({"phase": ph["name"], "step": s, "of": steps, "loss": round(l, 4), "s": round(time.time() - t2, 1)}), flush=True)
        curve.flush()
        result.setdefault("seconds", {})[ph["name"]] = round(time.time() - t2, 1)
        if ph["name"] in ("instruct", "reading"):
            model.eval()
            ev = {}
            for ws in (0, 1):
                rows, counts = evaluate(model, evals[ws])
                ev[f"w{ws}"] = {"counts": counts, "tasks": rows}
                print(json.dumps(clean({"after": ph["name"], "world": ws, **counts})), flush=True)
            result["evals"][ph["name"]] = ev
        write_result(a, result)
    curve.close()

    if a.scores:
        result["scores_w0"] = {t["task"]: score(model, t["prompts"], t["candidates"]) for t in evals[0]}
    # the weights as crossmon names them (the tied lm_head is not stored); config and tokenizer are DATA_DIR's
    dtype = getattr(torch, a.save_dtype)
    state = {k: v.detach().to(dtype).cpu().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, os.path.join(a.out, f"{a.tag}.safetensors"), metadata={"format": "pt"})
    result["total_s"] = round(time.time() - t0, 1)
    write_result(a, result)
    print(json.dumps({"done": result["total_s"]}), flush=True)


if __name__ == "__main__":
    main()
