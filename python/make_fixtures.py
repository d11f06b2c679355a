"""Makes the tiny reference checkpoints and expected logits under test/fixtures/ with PyTorch.

transformers cannot be installed on the project's machines (no PyPI), so the forward pass below re-implements
transformers' modeling code for LlamaForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM line for line (RMSNorm in
float32, rotate_half RoPE with the llama3 scaling of modeling_rope_utils, repeat_kv, eager attention with a causal
mask, SwiGLU MLP, tied or untied LM head). The device check of issue 6 compares against transformers itself.

Run with Debian's python3-torch:  /usr/bin/python3 python/make_fixtures.py
"""
import json, math, os, struct
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def write_safetensors(path, tensors):
    header, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rms_norm(x, w, eps):
    x32 = x.to(torch.float32)
    var = x32.pow(2).mean(-1, keepdim=True)
    return w * (x32 * torch.rsqrt(var + eps)).to(x.dtype)


def inv_freq(cfg):
    dim = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":
        factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        is_medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv = torch.where(is_medium, smoothed, inv_l)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, W, ids):
    arch = cfg["architectures"][0]
    T = len(ids)
    nH, nKV, hd, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["rms_norm_eps"]
    h = W["model.embed_tokens.weight"][torch.tensor(ids)].float()
    pos = torch.arange(T).float()
    freqs = torch.outer(pos, inv_freq(cfg))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)

    def lin(x, name):
        y = x @ W[name + ".weight"].float().T
        b = W.get(name + ".bias")
        return y + b.float() if b is not None else y

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        x = rms_norm(h, W[p + ".input_layernorm.weight"].float(), eps)
        q = lin(x, p + ".self_attn.q_proj").view(T, nH, hd).transpose(0, 1)
        k = lin(x, p + ".self_attn.k_proj").view(T, nKV, hd).transpose(0, 1)
        v = lin(x, p + ".self_attn.v_proj").view(T, nKV, hd).transpose(0, 1)
        if arch == "Qwen3ForCausalLM":
            q = rms_norm(q, W[p + ".self_attn.q_norm.weight"].float(), eps)
            k = rms_norm(k, W[p + ".self_attn.k_norm.weight"].float(), eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nH // nKV, dim=0)
        v = v.repeat_interleave(nH // nKV, dim=0)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + mask
        att = torch.softmax(att.float(), dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, nH * hd)
        h = h + lin(o, p + ".self_attn.o_proj")
        x = rms_norm(h, W[p + ".post_attention_layernorm.weight"].float(), eps)
        g = lin(x, p + ".mlp.gate_proj")
        u = lin(x, p + ".mlp.up_proj")
        h = h + lin(torch.nn.functional.silu(g) * u, p + ".mlp.down_proj")
    h = rms_norm(h, W["model.norm.weight"].float(), eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.float().T


def make(name, cfg, dtype=torch.float32, shards=1):
    torch.manual_seed(sum(map(ord, name)))
    d, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nH, nKV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    arch = cfg["architectures"][0]
    W = {"model.embed_tokens.weight": torch.randn(V, d) * 0.5, "model.norm.weight": 1 + 0.1 * torch.randn(d)}
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = torch.randn(V, d) * 0.3
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        W[p + ".input_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        W[p + ".post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        for n, (o, inp) in {"q_proj": (nH * hd, d), "k_proj": (nKV * hd, d), "v_proj": (nKV * hd, d), "o_proj": (d, nH * hd)}.items():
            W[f"{p}.self_attn.{n}.weight"] = torch.randn(o, inp) * 0.3
            if arch == "Qwen2ForCausalLM" and n != "o_proj":
                W[f"{p}.self_attn.{n}.bias"] = torch.randn(o) * 0.1
        if arch == "Qwen3ForCausalLM":
            W[p + ".self_attn.q_norm.weight"] = 1 + 0.1 * torch.randn(hd)
            W[p + ".self_attn.k_norm.weight"] = 1 + 0.1 * torch.randn(hd)
        W[p + ".mlp.gate_proj.weight"] = torch.randn(I, d) * 0.3
        W[p + ".mlp.up_proj.weight"] = torch.randn(I, d) * 0.3
        W[p + ".mlp.down_proj.weight"] = torch.randn(d, I) * 0.3
    W = {k: v.to(dtype) for k, v in W.items()}
    out = os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**cfg, "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]}, f, indent=2)
    names = sorted(W)
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), W)
    else:
        wm = {}
        for s in range(shards):
            fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: W[n] for n in names[s::shards]}
            write_safetensors(os.path.join(out, fn), part)
            wm.update({n: fn for n in part})
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wm}, f, indent=2)
    seqs = [[3, 17, 42, 8, 0, 25, 61], [5, 9, 33, 2]]
    with torch.no_grad():
        logits = [forward(cfg, W, s).tolist() for s in seqs]
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"sequences": seqs, "logits": logits, "torch": torch.__version__}, f)
    print("wrote", out)


base = dict(vocab_size=64, hidden_size=16, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, rms_norm_eps=1e-6, max_position_embeddings=128, hidden_act="silu")
llama = {**base, "architectures": ["LlamaForCausalLM"], "model_type": "llama", "head_dim": 4, "rope_theta": 10000.0,
         "tie_word_embeddings": True, "attention_bias": False,
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}}
qwen2 = {**base, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "head_dim": 4, "rope_theta": 1000000.0,
         "tie_word_embeddings": False}
qwen3 = {**base, "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "head_dim": 8, "rope_theta": 1000000.0,
         "tie_word_embeddings": True, "attention_bias": False}
make("tiny-llama", llama)
make("tiny-qwen2-sharded", qwen2, shards=2)
make("tiny-qwen3", qwen3)
make("tiny-qwen3-bf16", qwen3, dtype=torch.bfloat16)
make("tiny-qwen3-f16", qwen3, dtype=torch.float16)
