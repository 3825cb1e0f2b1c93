#!/usr/bin/python3
"""Builds a seeded random BiomedCLIP in PyTorch and writes a model directory plus golden outputs.

  /usr/bin/python3 scripts/reference/make_reference.py --size tiny --seed 0 --out test/fixtures/tiny
  /usr/bin/python3 scripts/reference/make_reference.py --size full --seed 0 --out /tmp/ref-full \\
      --vocab ../shared/data/model-files/biomedbert-vocab.txt --torch-bin

Writes DIR/model.safetensors (F32, PyTorch layouts and open_clip keys), DIR/open_clip_config.json,
DIR/golden.safetensors (inputs.*, outputs.*, and every hook tensor under its hook name), and optionally
DIR/vocab.txt (--vocab) and DIR/open_clip_pytorch_model.bin (--torch-bin, a torch.save'd state dict).
"""
import argparse
import json
import os
import shutil
import sys
import time
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from config import CONFIGS  # noqa: E402
from init_weights import init_weights  # noqa: E402
from inputs import load_inputs, pad_ids, seeded_ids, seeded_pixels  # noqa: E402
from model import build_model, run_with_capture  # noqa: E402
from safetensors_io import save_file  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(CONFIGS), required=True)
    p.add_argument("--seed", type=int, required=True, help="seeds the weights and the generated inputs")
    p.add_argument("--out", required=True, help="model directory to write (created if missing)")
    p.add_argument("--inputs", help="safetensors with pixel_values [B,3,S,S] F32 and/or input_ids [N,T] I64")
    p.add_argument("--vocab", help="vocab.txt to copy into the model directory")
    p.add_argument("--torch-bin", action="store_true", help="also write open_clip_pytorch_model.bin")
    p.add_argument("--pad-to", type=int, help="right-pad the token ids with [PAD] to this many columns")
    return p.parse_args(argv)


def make_inputs(args, model, cfg_json):
    cfg = model.cfg
    if args.inputs:
        pixels, ids = load_inputs(args.inputs, cfg)
        ids = pad_ids(ids, args.pad_to) if ids is not None else None
    else:
        # Inputs get their own generator (seed + 1) so adding a parameter never changes the inputs.
        g = torch.Generator().manual_seed(args.seed + 1)
        pre = cfg_json["preprocess_cfg"]
        pixels = seeded_pixels(cfg.vision.image_size, pre["mean"], pre["std"], g)
        ids = seeded_ids(cfg.text.vocab_size, g, args.pad_to)
    if ids is not None and ids.shape[1] > cfg.text.max_position_embeddings:
        raise ValueError(f"input_ids have {ids.shape[1]} columns; the model has "
                         f"{cfg.text.max_position_embeddings} positions")
    return pixels, ids


def torch_bin_state(model, size):
    """The state dict as open_clip saves it; the full-size file, like the real one, carries HF's int64
    position_ids buffer [1, 512] (persistent in the transformers version BiomedCLIP was trained with)."""
    state = model.state_dict()
    if size != "full":
        return state
    out = OrderedDict()
    for key, t in state.items():
        if key == "text.transformer.embeddings.word_embeddings.weight":
            n = model.cfg.text.max_position_embeddings
            out["text.transformer.embeddings.position_ids"] = torch.arange(n, dtype=torch.int64).unsqueeze(0)
        out[key] = t
    return out


def golden_tensors(pixels, ids, outputs, hooks):
    golden = OrderedDict()
    if pixels is not None:
        golden["inputs.pixel_values"] = pixels
    if ids is not None:
        golden["inputs.input_ids"] = ids
    golden.update(outputs)
    golden.update(hooks)
    return golden


def command_line(args):
    """The flags that determine the bytes written (not --out), so a regenerated fixture is byte-identical."""
    parts = [f"make_reference.py --size {args.size} --seed {args.seed}"]
    if args.inputs:
        parts.append(f"--inputs {os.path.basename(args.inputs)}")
    if args.pad_to is not None:
        parts.append(f"--pad-to {args.pad_to}")
    return " ".join(parts)


def golden_metadata(args, cfg_json):
    return {
        "format": "biomedclip-ts golden v1",
        "size": args.size,
        "seed": str(args.seed),
        "command": command_line(args),
        "torch": torch.__version__,
        "logit_scale": "outputs.logit_scale is the raw parameter (ln of the scale); "
                       "logits_per_image = exp(logit_scale) * normalize(img) @ normalize(txt)^T",
        "features": "outputs.*_features are unnormalized (encode_*(normalize=False))",
        "embed_dim": str(cfg_json["model_cfg"]["embed_dim"]),
    }


def write_model_dir(args, model, cfg_json):
    os.makedirs(args.out, exist_ok=True)
    meta = {"format": "pt", "source": f"make_reference.py --size {args.size} --seed {args.seed}"}
    save_file(model.state_dict(), os.path.join(args.out, "model.safetensors"), meta)
    with open(os.path.join(args.out, "open_clip_config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2)
        f.write("\n")
    if args.vocab:
        shutil.copyfile(args.vocab, os.path.join(args.out, "vocab.txt"))
    if args.torch_bin:
        path = os.path.join(args.out, "open_clip_pytorch_model.bin")
        torch.save(torch_bin_state(model, args.size), path + ".tmp")
        os.replace(path + ".tmp", path)


def main(argv=None):
    args = parse_args(argv)
    if args.vocab and not os.path.isfile(args.vocab):
        sys.exit(f"make_reference: error: --vocab {args.vocab}: no such file")
    if args.inputs and not os.path.isfile(args.inputs):
        sys.exit(f"make_reference: error: --inputs {args.inputs}: no such file")
    t0 = time.time()
    cfg_json = CONFIGS[args.size]
    model = init_weights(build_model(cfg_json), args.seed).eval()
    try:
        pixels, ids = make_inputs(args, model, cfg_json)
    except ValueError as e:
        sys.exit(f"make_reference: error: {e}")
    outputs, hooks = run_with_capture(model, pixels, ids)
    write_model_dir(args, model, cfg_json)
    golden = golden_tensors(pixels, ids, outputs, hooks)
    save_file(golden, os.path.join(args.out, "golden.safetensors"), golden_metadata(args, cfg_json))
    print(f"make_reference: wrote {args.out} ({len(hooks)} hooks) in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
