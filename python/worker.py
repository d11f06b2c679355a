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


# tokens (padded) per forward pass: a call's prompts are sorted by length and cut into micro-batches of at most this
# many, so a call of 2,000 long prompts runs in pieces that fit, with little padding (CROSSMON_WORKER_BATCH_TOKENS)
BATCH_TOKENS = int(os.environ.get("CROSSMON_WORKER_BATCH_TOKENS", "16384"))
# recompute activations in the backward pass instead of keeping them (long sequences on a big model)
CHECKPOINTING = os.environ.get("CROSSMON_WORKER_CHECKPOINTING", "0") == "1"


def micro_batches(lengths, budget=None):
    """Indices grouped longest first, each group's padded size (count x its longest) within the token budget."""
    budget = budget or BATCH_TOKENS
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * lengths[cur[0]] > budget:
            groups.append(cur)
            cur = []
        cur.append(i)
    if cur:
        groups.append(cur)
    return groups


def hidden_states(m, ids, mask):
    """The last layer's normalised hidden states, without the LM head (which would make [batch, seq, vocab] logits:
    7 GB for 8 prompts of 1,500 tokens with a 152k vocabulary); the head then runs on the rows that are needed."""
    body = m.get_base_model() if isinstance(m, PeftModel) else m
    cap = getattr(body.config, "final_logit_softcapping", None)

    def head(rows):
        z = body.lm_head(rows).float()
        return torch.tanh(z / cap) * cap if cap else z  # Gemma 2 caps its logits after the head

    return body.model(input_ids=ids, attention_mask=mask).last_hidden_state, head


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
    prompts = req["prompts"]
    out = [None] * len(prompts)
    for group in micro_batches([len(p) for p in prompts]):
        ids, mask = padded([prompts[i] for i in group])
        h, head = hidden_states(m, ids, mask)
        last = h[torch.arange(ids.shape[0], device=h.device), mask.sum(1) - 1]
        lp = F.log_softmax(head(last), dim=-1)[:, req["candidates"]].tolist()
        for j, i in enumerate(group):
            out[i] = lp[j]
    return {"logprobs": out}


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
    if CHECKPOINTING:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model.train()
    losses = []
    for step, batch in enumerate(req["batches"]):
        for g in opt.param_groups:
            g["lr"] = lrs[step]
        opt.zero_grad()
        # same convention as crossmon: weights[t] is the weight on predicting ids[t]; the loss is the weighted mean over
        # the whole step, accumulated over micro-batches of at most BATCH_TOKENS padded tokens
        total = sum(sum(b["weights"][1:]) for b in batch)
        step_loss = 0.0
        for group in micro_batches([len(b["ids"]) for b in batch]):
            ids, mask = padded([batch[i]["ids"] for i in group])
            w = torch.zeros(ids.shape, dtype=torch.float32, device=DEVICE)
            for j, i in enumerate(group):
                w[j, : len(batch[i]["weights"])] = torch.tensor(batch[i]["weights"], dtype=torch.float32)
            # the LM head only on the positions that predict a weighted token (one per example in 1-token SFT)
            rows, cols = torch.nonzero(w[:, 1:] > 0, as_tuple=True)
            h, head = hidden_states(model, ids, mask)
            logits = head(h[rows, cols])
            nll = F.cross_entropy(logits, ids[rows, cols + 1], reduction="none")
            loss = (nll * w[rows, cols + 1]).sum() / max(total, 1e-9)
            loss.backward()
            step_loss += loss.item()
        if req.get("max_grad_norm", 0) > 0:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], req["max_grad_norm"])
        opt.step()
        losses.append(step_loss)
    model.save_pretrained(req["out"])
    _state["base"] = model.unload().eval()
    return {"losses": losses, "adapter": req["out"]}


OPS = {"score": op_score, "logits": op_logits, "generate": op_generate, "train": op_train,
       "hello": lambda req: {"torch": torch.__version__, "device": DEVICE, "dtype": _dtype_name, "models_loaded": int(_state["base"] is not None),
                             "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if DEVICE == "cuda" else None,
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
