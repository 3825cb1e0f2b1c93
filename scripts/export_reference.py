#!/usr/bin/env python3
"""Make a parity reference with the REAL open_clip BiomedCLIP, for `biomedclip parity`.

For users who have PyTorch, open_clip_torch, timm and transformers installed (pip install open_clip_torch
transformers). Loads hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224, runs your images and
texts through open_clip's own preprocess and tokenizer, records every activation under the hook names the
TypeScript model uses (PyTorch module paths, plus ".probs" for attention probabilities), and writes one
safetensors file in the golden layout: inputs.pixel_values, inputs.input_ids, outputs.image_features,
outputs.text_features (unnormalized), outputs.logits_per_image, outputs.logit_scale (the raw parameter),
then each hook tensor (float32). Then, with the same weights converted for biomedclip-ts:

  python3 scripts/export_reference.py --image slide.jpg --text "tumor" --text "normal tissue" --out ref.safetensors
  biomedclip parity --reference ref.safetensors            # exit 0 when every hook is within tolerance

Attention probabilities: timm's Attention normally calls the fused F.scaled_dot_product_attention, which
never materialises the softmax. We switch each block to timm's explicit path (fused_attn = False; same
maths) and hook its attn_drop module, an identity at eval whose input and output ARE the probabilities.
For BERT we ask transformers for output_attentions with the eager attention (the softmax output, one
[N, 12, T, T] tensor per layer), since newer transformers no longer call a dropout module we could hook.

A hook that never fires (an upstream release that computes attention some other way) stops the script
with one line and no file. This script imports nothing heavy until it runs, so `--help` works anywhere.
biomedclip-ts's CI has no open_clip: it runs this script against a stand-in open_clip with upstream's
module surfaces (test/support/upstream_standin; see docs/parity.md).
"""
import argparse
import fnmatch
import os
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224"
CONTEXT_LENGTH = 256


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", action="append", default=[], help="an image file; repeatable")
    p.add_argument("--text", action="append", default=[], help="a text; repeatable")
    p.add_argument("--inputs", help="safetensors with pixel_values [B,3,224,224] and/or input_ids [N,T] "
                   "(or inputs.*, e.g. a `biomedclip trace` file): used instead of --image/--text")
    p.add_argument("--out", required=True, help="the safetensors file to write (whole or not at all)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"open_clip model name (default {DEFAULT_MODEL})")
    p.add_argument("--capture", action="append", help="save only hooks matching this glob; repeatable "
                   "(outputs.* are always saved); default: every hook")
    p.add_argument("--trim", action="store_true", help="cut input_ids to the longest text instead of "
                   "open_clip's 256 columns (a smaller file; the [CLS] features are the same)")
    args = p.parse_args(argv)
    if not (args.image or args.text or args.inputs):
        p.error("nothing to run: give --image, --text or --inputs")
    return args


def vision_hook_modules(model):
    """hook name -> module, in forward order. `.probs` is the attn_drop identity after the softmax."""
    names = ["visual.trunk.patch_embed"]
    for i in range(len(model.visual.trunk.blocks)):
        b = f"visual.trunk.blocks.{i}"
        names += [f"{b}.norm1", f"{b}.attn.qkv", f"{b}.attn.probs", f"{b}.attn.proj", f"{b}.attn", f"{b}.norm2",
                  f"{b}.mlp.fc1", f"{b}.mlp.act", f"{b}.mlp.fc2", f"{b}.mlp", b]
    names += ["visual.trunk.norm", "visual.head.proj"]
    modules = dict(model.named_modules())
    return OrderedDict((n, modules[n[: -len("probs")] + "attn_drop" if n.endswith(".probs") else n]) for n in names)


def text_hook_names(model):
    """Text hook names in forward order; `.probs` entries come from output_attentions, not a module."""
    names = ["text.transformer.embeddings.LayerNorm", "text.transformer.embeddings"]
    for i in range(len(model.text.transformer.encoder.layer)):
        l = f"text.transformer.encoder.layer.{i}"
        s = f"{l}.attention.self"
        names += [f"{s}.query", f"{s}.key", f"{s}.value", f"{s}.probs", s, f"{l}.attention.output.dense",
                  f"{l}.attention.output.LayerNorm", f"{l}.attention.output", f"{l}.attention",
                  f"{l}.intermediate.dense", f"{l}.intermediate.intermediate_act_fn", f"{l}.intermediate",
                  f"{l}.output.dense", f"{l}.output.LayerNorm", f"{l}.output", l]
    return names + ["text.proj.0", "text.proj.1", "text.proj.2", "text.proj"]


def explicit_attention(model):
    """Makes both towers compute (and expose) their softmax; the maths is unchanged."""
    for block in model.visual.trunk.blocks:
        if hasattr(block.attn, "fused_attn"):
            block.attn.fused_attn = False
        if not hasattr(block.attn, "attn_drop"):
            fail("this timm Attention has no attn_drop module to hook; "
             "please report your timm version")
    bert = model.text.transformer
    if hasattr(bert, "set_attn_implementation"):
        bert.set_attn_implementation("eager")
    else:
        try:
            bert.config._attn_implementation = "eager"
        except AttributeError:
            pass  # older transformers: eager is the only implementation
    bert.config.output_attentions = True


class Recorder:
    """Forward hooks that keep each named module's output (a tuple's first item) as float32 on the CPU."""

    def __init__(self, model, text_layers):
        import torch

        self.torch = torch
        self.seen = {}
        modules = dict(model.named_modules())
        self.handles = [m.register_forward_hook(self._hook(n)) for n, m in vision_hook_modules(model).items()]
        for n in text_hook_names(model):
            if not n.endswith(".probs"):
                self.handles.append(modules[n].register_forward_hook(self._hook(n)))
        self.handles.append(modules["text.transformer"].register_forward_hook(self._attentions(text_layers)))

    def _keep(self, name, t):
        if name in self.seen:
            raise RuntimeError(f"hook {name} fired twice")
        self.seen[name] = t.detach().to(self.torch.float32).cpu().contiguous()

    def _hook(self, name):
        def hook(_module, _inputs, output):
            self._keep(name, output[0] if isinstance(output, (tuple, list)) else output)
        return hook

    def _attentions(self, layers):
        def hook(_module, _inputs, output):
            att = getattr(output, "attentions", None)
            if att is None or len(att) != layers:
                raise RuntimeError("transformers returned no attention probabilities; upgrade transformers "
                                   "or report the version")
            for i, probs in enumerate(att):
                self._keep(f"text.transformer.encoder.layer.{i}.attention.self.probs", probs)
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def fail(message):
    """One error line, exit 1; nothing has been written yet wherever this is called."""
    sys.exit(f"export_reference: error: {message}")


def open_image(path):
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()  # decode now, so a truncated file fails here with its name
        return image
    except OSError as e:  # PIL's UnidentifiedImageError is an OSError
        fail(f"{path}: cannot read it as an image ({e})")


def load_inputs(args, preprocess, tokenizer):
    import torch

    pixels = ids = None
    if args.inputs:
        sys.path.insert(0, os.path.join(HERE, "reference"))
        from safetensors_io import load_file

        try:
            tensors, _ = load_file(args.inputs)
        except (OSError, ValueError) as e:
            fail(f"{args.inputs}: cannot read it as safetensors ({e}); pass a file from `biomedclip preprocess` "
                 "or `biomedclip trace`")
        pixels = tensors.get("pixel_values", tensors.get("inputs.pixel_values"))
        ids = tensors.get("input_ids", tensors.get("inputs.input_ids"))
        if pixels is None and ids is None:
            fail(f"{args.inputs}: has neither pixel_values nor input_ids (nor inputs.*); pass a file from "
                 "`biomedclip preprocess` or `biomedclip trace`")
        pixels = pixels.to(torch.float32).clone() if pixels is not None else None
        ids = ids.to(torch.int64).clone() if ids is not None else None
    if args.image:
        # open_clip's eval transform: Resize(224, bicubic) -> CenterCrop -> RGB -> ToTensor -> Normalize.
        pixels = torch.stack([preprocess(open_image(p)) for p in args.image])
    if args.text:
        ids = tokenizer(args.text, context_length=CONTEXT_LENGTH).to(torch.int64)
    if ids is not None and args.trim:
        longest = int((ids != 0).sum(dim=1).max())
        ids = ids[:, :longest].contiguous()
    return pixels, ids


def run(model, pixels, ids):
    """outputs.* as open_clip computes them, and every hook tensor."""
    import torch

    outputs = OrderedDict()
    recorder = Recorder(model, len(model.text.transformer.encoder.layer))
    try:
        with torch.no_grad():
            img = model.encode_image(pixels) if pixels is not None else None
            txt = model.encode_text(ids) if ids is not None else None
    finally:
        recorder.close()
    if img is not None:
        outputs["outputs.image_features"] = img.float()
    if txt is not None:
        outputs["outputs.text_features"] = txt.float()
    with torch.no_grad():
        if img is not None and txt is not None:
            # logits_per_image as open_clip's forward: exp(logit_scale) * normalize(img) @ normalize(txt)^T
            norm = torch.nn.functional.normalize
            outputs["outputs.logits_per_image"] = model.logit_scale.exp() * norm(img, dim=-1) @ norm(txt, dim=-1).T
        outputs["outputs.logit_scale"] = model.logit_scale.detach().float().reshape([])
    return outputs, recorder.seen


def ordered_hooks(model, seen, capture, ran_vision, ran_text):
    """Every hook of each tower that ran, in forward order. A hook that never fired means this open_clip,
    timm or transformers computes differently from what the hooks assume (a fused attention that skips
    attn_drop, say): refuse, rather than write a reference that silently lacks it."""
    names = (list(vision_hook_modules(model)) if ran_vision else []) + (text_hook_names(model) if ran_text else [])
    silent = [n for n in names if n not in seen]
    if silent:
        fail(f"{len(silent)} hooks never fired (first: {silent[0]}); this open_clip/timm/transformers "
             f"({versions_line()}) does not run the modules they hook; please report these versions")
    keep = [n for n in names if not capture or any(fnmatch.fnmatchcase(n, g) for g in capture)]
    return OrderedDict((n, seen[n]) for n in keep)


def versions():
    import importlib

    out = {}
    for name in ("torch", "open_clip", "timm", "transformers"):
        try:
            out[name] = getattr(importlib.import_module(name), "__version__", "unknown")
        except ImportError:
            out[name] = "absent"
    return out


def versions_line():
    return ", ".join(f"{k} {v}" for k, v in versions().items())


def main(argv=None):
    args = parse_args(argv)
    for f in args.image + ([args.inputs] if args.inputs else []):
        if not os.path.isfile(f):
            fail(f"{f}: no such file")
    try:
        import torch
        import open_clip
    except ImportError as e:
        fail(f"{e.name} is not installed; pip install open_clip_torch transformers")
    sys.path.insert(0, os.path.join(HERE, "reference"))
    from safetensors_io import save_file

    try:
        model, preprocess = open_clip.create_model_from_pretrained(args.model)
        tokenizer = open_clip.get_tokenizer(args.model)
    except Exception as e:  # hub, network or config errors: one line, not open_clip's traceback
        fail(f"cannot load {args.model} with open_clip ({type(e).__name__}: {e}); check the name and your network")
    model = model.eval().float()
    explicit_attention(model)
    pixels, ids = load_inputs(args, preprocess, tokenizer)
    outputs, seen = run(model, pixels, ids)
    golden = OrderedDict()
    if pixels is not None:
        golden["inputs.pixel_values"] = pixels.contiguous()
    if ids is not None:
        golden["inputs.input_ids"] = ids.contiguous()
    golden.update(outputs)
    golden.update(ordered_hooks(model, seen, args.capture, pixels is not None, ids is not None))
    meta = {"format": "biomedclip-ts golden v1", "command": "export_reference.py " + " ".join(argv or sys.argv[1:]),
            "model": args.model, "images": repr(args.image), "texts": repr(args.text), **versions()}
    save_file(golden, args.out, meta)
    print(f"export_reference: wrote {args.out} ({len(golden)} tensors)", file=sys.stderr)


if __name__ == "__main__":
    main()
