"""Makes tiny random checkpoints of the architectures added after the first three, with transformers itself, and the
logits transformers computes for them: test/fixtures/tiny-<family>/ (config.json and model.safetensors as
save_pretrained writes them, expected.json with a right-padded batch and its logits at every real position).

Weights are drawn wider than transformers' initialisation (and norms away from their identity), so that soft caps,
sliding windows, per-layer RoPE and the norms' offsets all change the logits: a model that skipped one of them would
fail the comparison. Eager attention, float32.

Run with the worker's packages (python/requirements-worker.txt):  python python/make_transformers_fixtures.py
"""
import json, os
import torch
import transformers as T

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
SHAPE = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=2)
# sequence lengths 9 and 5 against windows of 3 and 4: the windows cut in
SEQUENCES = [[1, 17, 5, 40, 22, 9, 63, 3, 11], [1, 8, 30, 2, 50]]

FAMILIES = {
    "mistral": (T.MistralConfig, T.MistralForCausalLM, dict(sliding_window=3, tie_word_embeddings=False)),
    "gemma2": (T.Gemma2Config, T.Gemma2ForCausalLM, dict(
        sliding_window=3, query_pre_attn_scalar=6, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"])),
    "gemma3": (T.Gemma3TextConfig, T.Gemma3ForCausalLM, dict(
        sliding_window=4, query_pre_attn_scalar=8,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0}})),
    "phi3": (T.Phi3Config, T.Phi3ForCausalLM, dict(sliding_window=4, tie_word_embeddings=False)),
    "olmo2": (T.Olmo2Config, T.Olmo2ForCausalLM, dict(tie_word_embeddings=False)),
}


def make(name, config_cls, model_cls, extra):
    torch.manual_seed(sum(map(ord, name)))
    config = config_cls(**SHAPE, **extra)
    config._attn_implementation = "eager"
    model = model_cls(config).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(0.3 * torch.randn_like(p) + (0.0 if name.startswith("gemma") else 1.0))
            else:
                p.copy_(0.4 * torch.randn_like(p))
    out = os.path.join(OUT, f"tiny-{name}")
    model.save_pretrained(out, safe_serialization=True)
    T_ = max(map(len, SEQUENCES))
    ids = torch.tensor([s + [0] * (T_ - len(s)) for s in SEQUENCES])
    mask = torch.tensor([[1] * len(s) + [0] * (T_ - len(s)) for s in SEQUENCES])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    expected = {
        "made_by": f"transformers {T.__version__}, torch {torch.__version__}, eager attention, float32",
        "sequences": SEQUENCES,
        "logits": [logits[b, : len(s)].tolist() for b, s in enumerate(SEQUENCES)],
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(name, "->", out)


if __name__ == "__main__":
    for name, (c, m, extra) in FAMILIES.items():
        make(name, c, m, extra)
