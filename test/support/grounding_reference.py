"""Reference values for test/grounding-oracle.test.ts: the grounding measures, the map upsampling and the
region's way into the crop, each computed by a library that does not share our code.

Reads a JSON list of cases on stdin and prints one JSON result per case. Arrays travel as base64 of their
little-endian bytes ("f4": float32, "u1": uint8). Kinds:
  upsample: {"map": f4, "rows": R, "cols": C, "size": S}
      -> {"out": f4}: torch.nn.functional.interpolate(mode="bilinear", align_corners=False)
  region:   {"width": W, "height": H, "size": S, "boxes": [[x0, y0, x1, y1]...]} or {..., "mask": u1}
      -> {"inside": u1}: the boxes drawn into a mode-L mask (pixels x0 <= x < x1, y0 <= y < y1), then
         torchvision's Resize(S, NEAREST) and CenterCrop(S) on the PIL image, nonzero = inside;
         "closed_form": pixels where floor((c + offset + 0.5) * W / W') picks another source pixel than
         Pillow does; "tensor_path": pixels where torchvision's tensor path (torch's "nearest",
         floor(o * in / out), no half pixel) would disagree.
  measures: {"map": f4, "inside": u1, "size": S, "tolerance": T, "threshold": t}
      -> hit (np.argmax, distances to np.nonzero), cnr (NumPy), auroc (sklearn roc_auc_score),
         iou, dice (NumPy), chance (scipy's Euclidean distance transform: share of pixels within T)
  pointing: {"inside": u1, "size": S, "tolerance": T, "peaks": [pixel index...]} -> {"hits": [bool...]}
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision, python3-sklearn, python3-scipy).
"""
import base64
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from sklearn.metrics import roc_auc_score
from torchvision import transforms
from torchvision.transforms import InterpolationMode


def decode(s, dtype):
    return np.frombuffer(base64.b64decode(s), dtype=dtype)


def encode(a, dtype):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def upsample(case):
    x = torch.from_numpy(decode(case["map"], "<f4").copy()).reshape(1, 1, case["rows"], case["cols"])
    out = F.interpolate(x, size=(case["size"], case["size"]), mode="bilinear", align_corners=False)
    return {"out": encode(out.numpy().reshape(-1), "<f4")}


def box_mask(case):
    w, h = case["width"], case["height"]
    mask = np.zeros((h, w), dtype=np.uint8)
    for x0, y0, x1, y1 in case["boxes"]:
        # pixels p with x0 <= p < x1: from ceil(x0) to ceil(x1) - 1, clipped to the image
        c0, c1 = max(0, math.ceil(x0)), min(w, math.ceil(x1))
        r0, r1 = max(0, math.ceil(y0)), min(h, math.ceil(y1))
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = 255
    return mask


def region(case):
    w, h, s = case["width"], case["height"], case["size"]
    mask = box_mask(case) if "boxes" in case else (decode(case["mask"], "u1").reshape(h, w) != 0).astype(np.uint8) * 255
    crop = transforms.Compose([transforms.Resize(s, interpolation=InterpolationMode.NEAREST), transforms.CenterCrop(s)])
    inside = (np.array(crop(Image.fromarray(mask, mode="L"))) != 0).astype(np.uint8)

    # the same geometry in closed form, to count where Pillow's accumulated coordinate differs from it
    short, long_ = min(w, h), max(w, h)
    new_long = int(s * long_ / short)
    rw, rh = (s, new_long) if w <= h else (new_long, s)
    left, top = int(round((rw - s) / 2.0)), int(round((rh - s) / 2.0))
    sx = np.floor((np.arange(s) + left + 0.5) * w / rw).astype(int).clip(0, w - 1)
    sy = np.floor((np.arange(s) + top + 0.5) * h / rh).astype(int).clip(0, h - 1)
    closed = (mask[np.ix_(sy, sx)] != 0).astype(np.uint8)

    tensor = transforms.Resize(s, interpolation=InterpolationMode.NEAREST)(torch.from_numpy(mask)[None])
    tensor = (transforms.CenterCrop(s)(tensor)[0].numpy() != 0).astype(np.uint8)
    return {
        "inside": encode(inside.reshape(-1), "u1"),
        "closed_form": int((closed != inside).sum()),
        "tensor_path": int((tensor != inside).sum()),
    }


def measures(case):
    s, tol, thr = case["size"], case["tolerance"], case["threshold"]
    m = decode(case["map"], "<f4").astype(np.float64)
    inside = decode(case["inside"], "u1").reshape(s, s) != 0
    peak = int(np.argmax(m))  # the first maximum in row-major order
    ys, xs = np.nonzero(inside)
    hit = bool(np.min((xs - peak % s) ** 2 + (ys - peak // s) ** 2) <= tol * tol)
    chance = float(np.mean(ndimage.distance_transform_edt(~inside) <= tol))

    mn, mx = m.min(), m.max()
    unit = (m - mn) / (mx - mn) if mx > mn else np.zeros_like(m)
    unit = unit.reshape(s, s)
    a, b = unit[inside], unit[~inside]
    cnr = None
    if a.size and b.size:
        num, den = abs(a.mean() - b.mean()), math.sqrt(a.var() + b.var())  # np.var: population variance
        cnr = 0.0 if num == 0 else (None if den == 0 else float(num / den))
    labels = inside.reshape(-1)
    auroc = float(roc_auc_score(labels, m)) if 0 < labels.sum() < labels.size else None
    sel = unit >= thr
    both, union = int((sel & inside).sum()), int((sel | inside).sum())
    return {
        "hit": hit,
        "peak": peak,
        "chance": chance,
        "cnr": cnr,
        "auroc": auroc,
        "iou": both / union,
        "dice": 2 * both / (int(sel.sum()) + int(inside.sum())),
    }


def pointing(case):
    s, tol = case["size"], case["tolerance"]
    ys, xs = np.nonzero(decode(case["inside"], "u1").reshape(s, s))
    return {"hits": [bool(np.min((xs - p % s) ** 2 + (ys - p // s) ** 2) <= tol * tol) for p in case["peaks"]]}


KINDS = {"upsample": upsample, "region": region, "measures": measures, "pointing": pointing}

if __name__ == "__main__":  # grounding_reproduce.py imports the functions
    cases = json.load(sys.stdin)
    print(json.dumps([KINDS[c["kind"]](c) for c in cases]))
