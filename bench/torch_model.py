"""A Llama-family model in plain PyTorch for crossmon's benches: weights read from a crossmon model folder (F32
safetensors, computed in F32 or cast to BF16), forward over a batch with an optional KV cache. Written out by hand (not transformers) so that the peer
does the same work as crossmon's engine and nothing else."""
import json, math, struct
import torch
import torch.nn.functional as F


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


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


class Llama:
    def __init__(self, work, trainable=False, dtype=torch.float32):
        cfg = json.load(open(f"{work}/config.json"))
        self.dtype = dtype
        self.W = {k: torch.nn.Parameter(v.to(dtype), requires_grad=trainable) for k, v in read_safetensors(f"{work}/model.safetensors").items()}
        self.d, self.nH, self.nKV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = cfg.get("head_dim") or self.d // self.nH
        self.L, self.eps = cfg["num_hidden_layers"], cfg["rms_norm_eps"]
        self.inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.head = self.W.get("lm_head.weight", self.W["model.embed_tokens.weight"])

    def rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def forward(self, tok, cache=None, last_only=False):
        """tok: [B, T]; cache: a list of per-layer (k, v) extended in place, or None."""
        W, B, T = self.W, tok.shape[0], tok.shape[1]
        past = cache[0][0].shape[2] if cache and cache[0] is not None else 0
        fr = torch.outer(torch.arange(past, past + T).float(), self.inv)
        emb = torch.cat((fr, fr), -1)
        cos, sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)
        mask = torch.full((T, past + T), float("-inf")).triu(past + 1).to(self.dtype) if T > 1 else None
        h = F.embedding(tok, W["model.embed_tokens.weight"])
        for i in range(self.L):
            p = f"model.layers.{i}"
            x = self.rms(h, W[p + ".input_layernorm.weight"])
            q = F.linear(x, W[p + ".self_attn.q_proj.weight"]).view(B, T, self.nH, self.hd).transpose(1, 2)
            k = F.linear(x, W[p + ".self_attn.k_proj.weight"]).view(B, T, self.nKV, self.hd).transpose(1, 2)
            v = F.linear(x, W[p + ".self_attn.v_proj.weight"]).view(B, T, self.nKV, self.hd).transpose(1, 2)
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            if cache is not None:
                if cache[i] is not None:
                    k = torch.cat((cache[i][0], k), 2)
                    v = torch.cat((cache[i][1], v), 2)
                cache[i] = (k, v)
            k = k.repeat_interleave(self.nH // self.nKV, 1)
            v = v.repeat_interleave(self.nH // self.nKV, 1)
            s = q @ k.transpose(-1, -2) / math.sqrt(self.hd)
            a = torch.softmax(s + mask if mask is not None else s, -1)
            o = (a @ v).transpose(1, 2).reshape(B, T, self.nH * self.hd)
            h = h + F.linear(o, W[p + ".self_attn.o_proj.weight"])
            x = self.rms(h, W[p + ".post_attention_layernorm.weight"])
            g = F.silu(F.linear(x, W[p + ".mlp.gate_proj.weight"])) * F.linear(x, W[p + ".mlp.up_proj.weight"])
            h = h + F.linear(g, W[p + ".mlp.down_proj.weight"])
        if last_only:
            h = h[:, -1:]
        return F.linear(self.rms(h, W["model.norm.weight"]), self.head)


def timed(fn, n):
    """The median of n timed calls, after two untimed ones."""
    import time
    fn()
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]
