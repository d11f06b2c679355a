"""The GPU-machine check of issue 6, as one prepared script (run by scripts/gpu-check.sh):
builds a tiny random Qwen3 with transformers, saves it, and prints its logits for a fixed batch as JSON; the shell
script then has crossmon's engine and the worker compute the same logits and run a few LoRA training steps.

usage: python3 python/gpu_check.py OUT_DIR
"""
import json, sys
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

out = sys.argv[1]
torch.manual_seed(0)
cfg = Qwen3Config(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16, max_position_embeddings=256, tie_word_embeddings=True, rope_theta=1e6)
model = Qwen3ForCausalLM(cfg).eval()
with torch.no_grad():
    for p in model.parameters():
        p.add_(torch.randn_like(p) * 0.02)
model.save_pretrained(out, safe_serialization=True)
seqs = [[3, 17, 42, 8, 0, 25, 61], [5, 9, 33, 2]]
with torch.no_grad():
    logits = [model(torch.tensor([s])).logits[0].tolist() for s in seqs]
json.dump({"sequences": seqs, "logits": logits, "transformers": __import__("transformers").__version__, "torch": torch.__version__}, open(f"{out}/expected.json", "w"))
print("saved", out)
