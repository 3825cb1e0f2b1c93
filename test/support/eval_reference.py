"""Reference values for test/eval-metrics.test.ts: scikit-learn's metrics and plain NumPy computations.

Reads a JSON list of cases on stdin and prints one JSON result per case. Kinds:
  classification: {"truth": [...], "probs": [[...]...], "k": K, "topk": [...], "resamples": [[rows]...]}
  retrieval:      {"queries": [[...]...], "candidates": [[...]...], "positives": [[...]...], "ks": [...]}
Run with Debian's /usr/bin/python3 (python3-sklearn, python3-numpy).
"""
import json
import sys
import warnings

import numpy as np
from sklearn import metrics

warnings.simplefilter("ignore")  # zero_division and undefined-class warnings are expected in these cases


def auroc_per_class(y, p, k):
    out = []
    for c in range(k):
        pos = y == c
        if pos.all() or not pos.any():
            out.append(None)
        else:
            out.append(float(metrics.roc_auc_score(pos, p[:, c])))
    return out


def sklearn_auroc_macro(y, p, k):
    """roc_auc_score itself, or the error it raises (a class with no items: undefined)."""
    try:
        if k == 2:
            return float(metrics.roc_auc_score(y, p[:, 1]))
        return float(metrics.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(k))))
    except ValueError as err:
        return "error: " + str(err).split("\n")[0]


def stable_ranks(p, y):
    """1-based rank of the true class, ties broken toward the lower class index (a stable sort on -p)."""
    order = np.argsort(-p, axis=1, kind="stable")
    return np.array([int(np.where(order[i] == y[i])[0][0]) + 1 for i in range(len(y))])


def ece(p, y, bins=10):
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(len(y)), pred]
    edges = np.arange(1, bins) / bins
    which = np.searchsorted(edges, conf, side="left")  # bin b holds (b/B, (b+1)/B]
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return total


def summary(y, p, k):
    pred = np.argmax(p, axis=1)
    auc = auroc_per_class(y, p, k)
    defined = [a for a in auc if a is not None]
    return {
        "accuracy": float(metrics.accuracy_score(y, pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y, pred)),
        "macro_f1": float(metrics.f1_score(y, pred, average="macro", zero_division=0)),
        "auroc_macro": float(np.mean(defined)) if defined else None,
    }


def classification(case):
    y = np.array(case["truth"])
    p = np.array(case["probs"], dtype=np.float64)
    k = case["k"]
    pred = np.argmax(p, axis=1)
    prec, rec, f1, support = metrics.precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0)
    ranks = stable_ranks(p, y)
    out = summary(y, p, k)
    out.update({
        "predicted": pred.tolist(),
        "confusion": metrics.confusion_matrix(y, pred, labels=list(range(k))).tolist(),
        "precision": prec.tolist(), "recall": rec.tolist(), "f1": f1.tolist(), "support": support.tolist(),
        "auroc_per_class": auroc_per_class(y, p, k),
        "sklearn_auroc_macro": sklearn_auroc_macro(y, p, k),
        "topk_stable": {str(t): float(np.mean(ranks <= t)) for t in case["topk"]},
        "topk_sklearn": {str(t): float(metrics.top_k_accuracy_score(y, p, k=t, labels=list(range(k))))
                         for t in case["topk"] if k > 2},
        "ece": ece(p, y),
    })
    if case.get("resamples"):
        values = {name: [] for name in ("accuracy", "balanced_accuracy", "macro_f1", "auroc_macro")}
        for rows in case["resamples"]:
            for name, v in summary(y[rows], p[rows], k).items():
                if v is not None:
                    values[name].append(v)
        out["ci"] = {name: [float(np.percentile(vs, 2.5)), float(np.percentile(vs, 97.5))] if vs else None
                     for name, vs in values.items()}
    return out


def retrieval(case):
    q = np.array(case["queries"], dtype=np.float32).astype(np.float64)
    c = np.array(case["candidates"], dtype=np.float32).astype(np.float64)
    order = np.argsort(-(q @ c.T), axis=1, kind="stable")  # equal scores keep candidate order
    ranks = []
    for i, pos in enumerate(case["positives"]):
        ranks.append(int(np.min(np.nonzero(np.isin(order[i], pos))[0])) + 1)
    ranks = np.array(ranks)
    return {
        "ranks": ranks.tolist(),
        "recall": {str(k): float(np.mean(ranks <= k)) for k in case["ks"]},
        "median_rank": float(np.median(ranks)),
    }


cases = json.load(sys.stdin)
print(json.dumps([classification(c) if c["kind"] == "classification" else retrieval(c) for c in cases]))
