"""crossmon's GPU worker: the backend interface (score, generate, train) over JSON lines on stdin/stdout,
with PyTorch + transformers + peft. Token ids and loss weights come from crossmon's renderer, so this path
trains and scores on exactly the tokens the in-process engine would.

Protocol: one JSON object per line in, one per line out, answered in order:
  {"id": 1, "op": "hello"}                                 -> {"id": 1, "ok": true, "torch": "...", "device": "cuda", "dtype": "float32"}
  {"id": 2, "op": "score", "model": {"base": DIR, "adapter": DIR|null}, "prompts": [[ids]], "candidates": [ids]}
                                                                  -> {"id": 2, "ok": true, "logprobs": [[lp, ...], ...]}
  {"id": 3, "op": "logits", "model": {...}, "ids": [[ids]]}      -> {"id": 3, "ok": true, "logits": [[[...]]]} (last dim: vocab)
  {"id": 4, "op": "generate", "model": {...}, "requests": [{"prompt": ids, "max_new_tokens": n, "temperature": t,
      "top_p": p, "seed": s}]}                                    -> {"id": 4, "ok": true, "outputs": [{"ids": [...]}]}
  {"id": 5, "op": "train", "model": {"base": DIR}, "lora": {"r": 16, "alpha": 32, "dropout": 0.05, "targets": [...]},
      "batches": [[{"ids": [...], "weights": [...]}]], "lrs": [lr per step], "weight_decay": 0.0, "max_grad_norm": 1.0,
      "init_adapter": DIR|null, "out": DIR}                        -> {"id": 5, "ok": true, "losses": [...], "adapter": DIR}
      ("lr": x instead of "lrs" trains at a constant rate; "init_adapter" continues a previous stage's adapter)
  errors                                                          -> {"id": N, "ok": false, "error": "..."}
"""
import json
import os
import sys
import traceback

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM
from peft import LoraConfig, PeftModel, get_peft_model

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# the base model's weights in memory: float32 (exact, the default) or, for models too big for that on a GPU box,
# bfloat16 / float16 (LoRA adapters stay float32: peft keeps them so; losses and scores are computed in float32)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_dtype_name = os.environ.get("CROSSMON_WORKER_DTYPE", "float32")
if _dtype_name not in DTYPES:
    sys.exit(f"CROSSMON_WORKER_DTYPE must be one of {', '.join(DTYPES)} (got {_dtype_name!r})")
DTYPE = DTYPES[_dtype_name]
# stdout carries the protocol alone: anything a library prints goes to stderr instead
PROTOCOL = sys.stdout
sys.stdout = sys.stderr
# what is loaded: one base model, and on top of it at most one LoRA adapter (peft's layers), swapped as requests ask
_state = {"base_path": None, "base": None, "peft": None, "adapter": None, "base_loads": 0, "adapter_loads": 0}


def _base(path):
    """The base model at path, loaded once: a study scores dozens of adapters on one base, and on a GPU every copy of a
    large base would hold its memory (27 copies of an 8B model in bfloat16 would want 400 GiB). Another base replaces
    it, adapter and all."""
    s = _state
    if s["base_path"] != path:
        s.update(base_path=None, base=None, peft=None, adapter=None)
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
        s["base"] = AutoModelForCausalLM.from_pretrained(path, dtype=DTYPE).to(DEVICE).eval()
        s["base_path"] = path
        s["base_loads"] += 1
    elif s["peft"] is not None:
        # the adapter's layers out, the base weights untouched (never merged)
        s["base"] = s["peft"].unload()
        s.update(peft=None, adapter=None)
    return s["base"]


def load(ref):
    """The model for a reference: the loaded base, with the requested adapter swapped in over the previous one."""
    s = _state
    want = ref.get("adapter")
    if s["base_path"] == ref["base"] and s["adapter"] == want:
        return s["peft"] if want else s["base"]
    if not want:
        return _base(ref["base"])
    if s["base_path"] != ref["base"] or s["peft"] is None:
        s["peft"] = PeftModel.from_pretrained(_base(ref["base"]), want, adapter_name="a0")
    else:
        old = s["peft"].active_adapter
        name = f"a{s['adapter_loads']}"
        s["peft"].load_adapter(want, adapter_name=name)
        s["peft"].set_adapter(name)
        s["peft"].delete_adapter(old)
    s["peft"].to(DEVICE).eval()
    s["adapter"] = want
    s["adapter_loads"] += 1
    return s["peft"]


def padded(seqs):
    n = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(DEVICE), mask.to(DEVICE)


@torch.no_grad()
def op_score(req):
    m = load(req["model"])
    ids, mask = padded(req["prompts"])
    logits = m(input_ids=ids, attention_mask=mask).logits.float()
    last = mask.sum(1) - 1
    lp = F.log_softmax(logits[torch.arange(ids.shape[0]), last], dim=-1)
    return {"logprobs": lp[:, req["candidates"]].tolist()}


@torch.no_grad()
def op_logits(req):
    m = load(req["model"])
    ids, mask = padded(req["ids"])
    logits = m(input_ids=ids, attention_mask=mask).logits.float()
    return {"logits": [logits[i, : len(s)].tolist() for i, s in enumerate(req["ids"])]}


@torch.no_grad()
def op_generate(req):
    m = load(req["model"])
    outs = []
    for r in req["requests"]:
        torch.manual_seed(r.get("seed", 0))
        ids = torch.tensor([r["prompt"]], device=DEVICE)
        t = r.get("temperature", 0.0)
        g = m.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=r["max_new_tokens"], do_sample=t > 0,
                       temperature=t if t > 0 else None, top_p=r.get("top_p", 1.0) if t > 0 else None, pad_token_id=0)
        outs.append({"ids": g[0, ids.shape[1]:].tolist()})
    return {"outputs": outs}


def op_train(req):
    # LoRA layers go onto the loaded base (no second copy of it); its own weights stay frozen and unchanged
    base = _base(req["model"]["base"])
    try:
        return _train(base, req)
    except BaseException:
        # the base may hold half-trained LoRA layers now: read it again next time
        _state.update(base_path=None, base=None, peft=None, adapter=None)
        raise


def _train(base, req):
    torch.manual_seed(req.get("seed", 0))
    lc = req["lora"]
    if req.get("init_adapter"):
        model = PeftModel.from_pretrained(base, req["init_adapter"], is_trainable=True).to(DEVICE)
    else:
        model = get_peft_model(base, LoraConfig(r=lc["r"], lora_alpha=lc["alpha"], lora_dropout=lc.get("dropout", 0.0),
                                                target_modules=lc["targets"], task_type="CAUSAL_LM"))
    lrs = req.get("lrs") or [req["lr"]] * len(req["batches"])
    if len(lrs) != len(req["batches"]):
        raise ValueError(f"{len(lrs)} learning rates for {len(req['batches'])} batches")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lrs[0] if lrs else 0.0, weight_decay=req.get("weight_decay", 0.0))
    model.train()
    losses = []
    for step, batch in enumerate(req["batches"]):
        for g in opt.param_groups:
            g["lr"] = lrs[step]
        # same convention as crossmon: weights[t] is the weight on predicting ids[t]; the loss is the weighted mean
        ids, mask = padded([b["ids"] for b in batch])
        w = torch.zeros(ids.shape, dtype=torch.float32, device=DEVICE)
        for i, b in enumerate(batch):
            w[i, : len(b["weights"])] = torch.tensor(b["weights"], dtype=torch.float32)
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none").view(ids.shape[0], -1)
        loss = (nll * w[:, 1:]).sum() / w[:, 1:].sum().clamp_min(1e-9)
        opt.zero_grad()
        loss.backward()
        if req.get("max_grad_norm", 0) > 0:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], req["max_grad_norm"])
        opt.step()
        losses.append(loss.item())
    model.save_pretrained(req["out"])
    _state["base"] = model.unload().eval()
    return {"losses": losses, "adapter": req["out"]}


OPS = {"score": op_score, "logits": op_logits, "generate": op_generate, "train": op_train,
       "hello": lambda req: {"torch": torch.__version__, "device": DEVICE, "dtype": _dtype_name, "models_loaded": int(_state["base"] is not None),
                             "adapter": _state["adapter"], "base_loads": _state["base_loads"], "adapter_loads": _state["adapter_loads"]}}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            out = {"id": req.get("id"), "ok": True, **OPS[req["op"]](req)}
        except Exception as e:  # the error goes back to crossmon, the worker keeps serving
            out = {"id": req.get("id"), "ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)}
        PROTOCOL.write(json.dumps(out) + "\n")
        PROTOCOL.flush()


if __name__ == "__main__":
    main()
