#!/usr/bin/python3
"""Exports the PyTorch reference's two towers to ONNX, for timing ONNX Runtime beside the TS model.

  /usr/bin/python3 scripts/reference/make_reference.py --size full --seed 0 --out /tmp/ref-full
  /usr/bin/python3 scripts/reference/export_onnx.py --model /tmp/ref-full --out /tmp/ref-full-onnx

Writes OUT/image.onnx (pixel_values [B, 3, S, S] -> image_features [B, E]) and OUT/text.onnx (input_ids
[N, T] int64 -> text_features [N, E]), batch and sequence axes dynamic, with the model's weights inside.
Debian's torch exports without the `onnx` Python package. Used by scripts/bench_onnx.ts (measurement
only: ONNX Runtime is what transformers.js runs on in Node, the yardstick of docs/performance.md).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_model_dir  # noqa: E402


class Tower(torch.nn.Module):
    """One encode_* method as a module, the unit torch.onnx.export takes."""

    def __init__(self, encode):
        super().__init__()
        self.encode = encode

    def forward(self, x):
        return self.encode(x)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model directory (model.safetensors, open_clip_config.json)")
    p.add_argument("--out", required=True, help="directory for image.onnx and text.onnx (created)")
    p.add_argument("--opset", type=int, default=14, help="ONNX opset (default 14)")
    args = p.parse_args(argv)
    if not os.path.isfile(os.path.join(args.model, "model.safetensors")):
        sys.exit(f"export_onnx: error: {args.model}/model.safetensors not found; make one with "
                 f"make_reference.py --size full --seed 0 --out {args.model}")
    model = load_model_dir(args.model)
    os.makedirs(args.out, exist_ok=True)
    s = model.cfg.vision.image_size
    towers = [
        ("image", Tower(model.encode_image), torch.zeros(1, 3, s, s), "pixel_values", "image_features", {0: "batch"}),
        ("text", Tower(model.encode_text), torch.full((2, 10), 5, dtype=torch.int64), "input_ids", "text_features",
         {0: "batch", 1: "tokens"}),
    ]
    with torch.no_grad():
        for name, tower, example, inp, out, axes in towers:
            path = os.path.join(args.out, f"{name}.onnx")
            torch.onnx.export(tower, (example,), path, input_names=[inp], output_names=[out],
                              dynamic_axes={inp: axes, out: {0: "batch"}}, opset_version=args.opset)
            print(f"export_onnx: wrote {path} ({os.path.getsize(path) / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
