"""PyTorch CPU reference for `npm run bench -- engine`: the same Llama-family model, weights, batch and optimiser as
crossmon's bench, timed for training steps and prefill. Prints one JSON line.

usage: python3 bench/torch_engine.py WORKDIR THREADS STEPS
WORKDIR holds config.json, model.safetensors (F32) and batch.json written by bench/engine.ts.
"""
import json, math, struct, sys, time
import torch
import torch.nn.functional as F

work, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
cfg = json.load(open(f"{work}/config.json"))
batch = json.load(open(f"{work}/batch.json"))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v["shape"]).clone()
    return out


W = {k: torch.nn.Parameter(v) for k, v in read_safetensors(f"{work}/model.safetensors").items()}
d, nH, nKV, hd, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["num_hidden_layers"]
eps = cfg["rms_norm_eps"]
B, T = batch["B"], batch["T"]
tokens = torch.tensor(batch["tokens"]).view(B, T)
targets = torch.tensor(batch["targets"]).view(B, T)
inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
fr = torch.outer(torch.arange(T).float(), inv)
emb = torch.cat((fr, fr), -1)
cos, sin = emb.cos(), emb.sin()
mask = torch.full((T, T), float("-inf")).triu(1)


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def forward(tok):
    h = F.embedding(tok, W["model.embed_tokens.weight"])
    for i in range(L):
        p = f"model.layers.{i}"
        x = rms(h, W[p + ".input_layernorm.weight"])
        q = F.linear(x, W[p + ".self_attn.q_proj.weight"]).view(B, T, nH, hd).transpose(1, 2)
        k = F.linear(x, W[p + ".self_attn.k_proj.weight"]).view(B, T, nKV, hd).transpose(1, 2)
        v = F.linear(x, W[p + ".self_attn.v_proj.weight"]).view(B, T, nKV, hd).transpose(1, 2)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        k = k.repeat_interleave(nH // nKV, 1)
        v = v.repeat_interleave(nH // nKV, 1)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        o = (a @ v).transpose(1, 2).reshape(B, T, nH * hd)
        h = h + F.linear(o, W[p + ".self_attn.o_proj.weight"])
        x = rms(h, W[p + ".post_attention_layernorm.weight"])
        h = h + F.linear(F.silu(F.linear(x, W[p + ".mlp.gate_proj.weight"])) * F.linear(x, W[p + ".mlp.up_proj.weight"]), W[p + ".mlp.down_proj.weight"])
    h = rms(h, W["model.norm.weight"])
    return F.linear(h, W["model.embed_tokens.weight"])


opt = torch.optim.AdamW(W.values(), lr=1e-4, weight_decay=0.1)


def train_step():
    opt.zero_grad()
    logits = forward(tokens)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(W.values(), 1.0)
    opt.step()
    return loss.item()


def timed(fn, n):
    fn()
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


first_loss = None
def prefill():
    with torch.no_grad():
        forward(tokens)

t_train = timed(train_step, steps)
t_prefill = timed(prefill, steps)
print(json.dumps({"threads": threads, "train_tokens_per_s": B * T / t_train, "prefill_tokens_per_s": B * T / t_prefill, "torch": torch.__version__}))
