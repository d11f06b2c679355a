"""The worker on a GPU, through its real protocol (python/worker.py over JSON lines), with no Node on that machine:
the same requests are answered on this machine's CPU (record) and on the GPU (check), and compared.

  record: python3 python/gpu_worker_check.py record EXPECTED.json            (here, CPU; the CPU worker itself
          equals crossmon's engine to 1e-4: test/backends/worker.test.ts)
  check:  python3 python/gpu_worker_check.py check EXPECTED.json OUT_DIR      (there, CUDA) -> OUT_DIR/worker-check.json
          and OUT_DIR/adapter/ (the LoRA adapter trained on the GPU, to be scored by crossmon's engine back here)

Requests: logits and scores on the three fixture checkpoints and the shipped base model, greedy generation, and
LoRA training (with a per-step schedule, clipping, and a stage continued from the first stage's adapter).
"""
import json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "test", "fixtures")
BASE = os.path.join(ROOT, "models", "crossmon-base")


def requests(adapter_dir):
    seqs = [[3, 17, 42, 8, 0, 25, 61], [5, 9, 33, 2]]
    base_seqs = [[1, 40, 220, 13, 900, 77, 3001, 12, 5], [1, 40, 220, 13]]
    reqs = []
    for name in ["tiny-llama", "tiny-qwen2-sharded", "tiny-qwen3"]:
        ref = {"base": os.path.join(FIX, name)}
        reqs.append({"op": "logits", "model": ref, "ids": seqs})
        reqs.append({"op": "score", "model": ref, "prompts": seqs, "candidates": [4, 9]})
    reqs.append({"op": "score", "model": {"base": BASE}, "prompts": base_seqs, "candidates": [10, 11]})
    reqs.append({"op": "generate", "model": {"base": os.path.join(FIX, "tiny-qwen3")}, "requests": [{"prompt": [3, 17, 42, 8], "max_new_tokens": 12, "temperature": 0, "seed": 0}]})
    seq = {"ids": [1, 2, 3, 4, 5, 6, 7, 8], "weights": [0, 0, 0, 0, 0, 1, 1, 1]}
    seq2 = {"ids": [9, 8, 7, 6], "weights": [0, 0, 1, 1]}
    lora = {"r": 4, "alpha": 8, "dropout": 0, "targets": ["q_proj", "v_proj", "gate_proj"]}
    ref = {"base": os.path.join(FIX, "tiny-llama")}
    reqs.append({"op": "train", "model": ref, "lora": lora, "batches": [[seq, seq2]] * 6, "lrs": [0.005, 0.01, 0.01, 0.01, 0.005, 0.002],
                 "max_grad_norm": 1.0, "out": os.path.join(adapter_dir, "stage1")})
    reqs.append({"op": "train", "model": ref, "lora": lora, "batches": [[seq2]] * 3, "lr": 0.01, "init_adapter": os.path.join(adapter_dir, "stage1"),
                 "out": os.path.join(adapter_dir, "adapter")})
    reqs.append({"op": "score", "model": {**ref, "adapter": os.path.join(adapter_dir, "adapter")}, "prompts": [seq["ids"], seq2["ids"]], "candidates": [4, 9]})
    return reqs


def run_worker(reqs):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "python", "worker.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = []
    for i, r in enumerate([{"op": "hello"}] + reqs):
        p.stdin.write(json.dumps({"id": i, **r}) + "\n")
        p.stdin.flush()
        out.append(json.loads(p.stdout.readline()))
    p.stdin.close()
    p.wait()
    return out[0], out[1:]


def max_diff(a, b):
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return float("inf")
        return max([max_diff(x, y) for x, y in zip(a, b)], default=0.0)
    if isinstance(a, (int, float)):
        return abs(a - b)
    return 0.0 if a == b else float("inf")


def main():
    mode, expected = sys.argv[1], sys.argv[2]
    if mode == "record":
        with tempfile.TemporaryDirectory() as d:
            hello, outs = run_worker(requests(d))
        assert all(o["ok"] for o in outs), [o for o in outs if not o["ok"]]
        json.dump({"hello": hello, "answers": outs}, open(expected, "w"))
        print("recorded", len(outs), "answers on", hello["device"])
        return
    out_dir = sys.argv[3]
    os.makedirs(out_dir, exist_ok=True)
    exp = json.load(open(expected))
    work = tempfile.mkdtemp()
    reqs = requests(work)
    hello, outs = run_worker(reqs)
    # the final adapter comes back (two files: what comes back from the machine is limited in number)
    os.makedirs(os.path.join(out_dir, "adapter"), exist_ok=True)
    for f in ("adapter_config.json", "adapter_model.safetensors"):
        if os.path.exists(os.path.join(work, "adapter", f)):
            shutil.copy(os.path.join(work, "adapter", f), os.path.join(out_dir, "adapter", f))
    rows = []
    for r, o, e in zip(reqs, outs, exp["answers"]):
        keys = [k for k in e if k not in ("id", "ok", "adapter")]
        diff = {k: max_diff(e[k], o.get(k)) for k in keys} if o["ok"] else None
        rows.append({"op": r["op"], "model": os.path.basename(r["model"]["base"]) + ("+adapter" if r["model"].get("adapter") else ""), "ok": o["ok"], "error": o.get("error"), "max_abs_diff": diff})
    report = {"device": hello["device"], "torch": hello["torch"], "cpu_reference": exp["hello"], "requests": rows,
              "all_ok": all(x["ok"] for x in rows)}
    json.dump(report, open(os.path.join(out_dir, "worker-check.json"), "w"), indent=1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
