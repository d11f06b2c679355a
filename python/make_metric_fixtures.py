"""Expected metric values from scikit-learn for test/fixtures/metrics-sklearn.json.

Run with Debian's python3-sklearn:  /usr/bin/python3 python/make_metric_fixtures.py
"""
import json, os
import numpy as np
from sklearn.metrics import roc_auc_score, brier_score_loss, log_loss, roc_curve

rng = np.random.default_rng(0)
cases = []
for k, (n, ties) in enumerate([(10, False), (57, True), (200, True), (500, False), (33, True)]):
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = rng.random(n)
    if ties:
        s = np.round(s * 6) / 6  # many tied scores
    p = np.clip(s, 0.001, 0.999)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    def tpr_at(x):
        return float(max(t for f, t in zip(fpr, tpr) if f <= x + 1e-12))
    cases.append({
        "labels": y.tolist(), "scores": s.tolist(),
        "auroc": float(roc_auc_score(y, s)),
        "brier": float(brier_score_loss(y, p)), "log_loss": float(log_loss(y, p)), "probs": p.tolist(),
        "tpr_at_1pct": tpr_at(0.01), "tpr_at_5pct": tpr_at(0.05), "tpr_at_20pct": tpr_at(0.2),
    })
out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "metrics-sklearn.json")
json.dump({"sklearn": __import__("sklearn").__version__, "cases": cases}, open(out, "w"))
print("wrote", out)
