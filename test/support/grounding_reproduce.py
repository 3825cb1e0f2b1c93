"""Recomputes an `eval grounding` report from its files, as a reader with NumPy would: every row's measures
from maps.npy (upsampled by torch's F.interpolate), the region from the data CSV's boxes (drawn into a mask
and taken through torchvision's Resize + CenterCrop by grounding_reference.py) and the measures by NumPy and
scikit-learn; then each method's means. Prints one JSON object: the largest difference of each measure
against rows.csv and metrics.json, and how many rows and methods were compared.

  /usr/bin/python3 grounding_reproduce.py DATA.csv REPORT_DIR
"""
import base64
import csv
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grounding_reference as ref  # noqa: E402


def b64(a, dtype):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def main(data_csv, report):
    root = os.path.dirname(os.path.abspath(data_csv))
    boxes = {}
    with open(data_csv, newline="") as f:
        for r in csv.DictReader(f):
            boxes.setdefault((r["image"], r["text"]), []).append([float(r[k]) for k in ("x0", "y0", "x1", "y1")])
    metrics = json.load(open(os.path.join(report, "metrics.json")))
    opts = metrics["options"]
    methods = metrics["methods"]
    maps = np.load(os.path.join(report, "maps.npy"))
    rows = list(csv.DictReader(open(os.path.join(report, "rows.csv"), newline="")))
    worst = {k: 0.0 for k in ("hit", "cnr", "auroc", "iou", "dice", "chance", "mean")}
    per_method = {m: {k: [] for k in ("hit", "cnr", "auroc", "iou", "dice")} for m in methods}
    size = opts["crop"]
    grid = opts["grid"]
    for r in rows:
        width, height = Image.open(os.path.join(root, r["image"])).size
        inside = ref.region({"width": width, "height": height, "size": size, "boxes": boxes[(r["image"], r["text"])]})["inside"]
        m = methods.index(r["method"])
        up = ref.upsample({"map": b64(maps[int(r["row"]), m].reshape(-1), "<f4"), "rows": grid[0], "cols": grid[1], "size": size})["out"]
        got = ref.measures({"map": up, "inside": inside, "size": size, "tolerance": opts["tolerance"], "threshold": opts["threshold"]})
        worst["hit"] = max(worst["hit"], abs(int(got["hit"]) - int(r["hit"])))
        worst["chance"] = max(worst["chance"], abs(got["chance"] - float(r["pointing_chance"])))
        for k in ("cnr", "auroc", "iou", "dice"):
            if got[k] is None or r[k] == "":
                worst[k] = max(worst[k], 0.0 if (got[k] is None and r[k] == "") else 1.0)
                continue
            worst[k] = max(worst[k], abs(got[k] - float(r[k])))
        for k in ("hit", "cnr", "auroc", "iou", "dice"):
            if got[k] is not None:
                per_method[r["method"]][k].append(float(got[k]))
    names = {"hit": "pointing_accuracy", "cnr": "mean_cnr", "auroc": "mean_auroc", "iou": "mean_iou", "dice": "mean_dice"}
    for m in methods:
        for k, name in names.items():
            worst["mean"] = max(worst["mean"], abs(float(np.mean(per_method[m][k])) - metrics["metrics"][m][name]))
    print(json.dumps({"rows": len(rows), "methods": len(methods), "max_diff": worst}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
