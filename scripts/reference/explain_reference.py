#!/usr/bin/python3
"""The explanation methods computed in PyTorch with autograd on the reference model: the oracle that
`test/explain-oracle.test.ts` holds the TypeScript methods to.

  /usr/bin/python3 scripts/reference/explain_reference.py --model DIR --image 0 --text 1 --out maps.safetensors
      [--layer L] [--head H] [--start-layer L] [--legrad-start-layer L] [--head-fusion mean|max|min]
      [--discard-ratio R] [--pool cls|mean] [--mechanistic]

Reads the model directory's golden.safetensors inputs (`--inputs FILE` for another file), takes image
`--image` and text `--text` (its [PAD] columns dropped) and writes, for the pair's logit
s = exp(logit_scale) * cos(image, text):
  logit                                   [] s
  attention.image / attention.text        [P] / [T]  mean over heads (or --head) of block L's row [CLS]
  rollout.image / rollout.text            [P] / [T]  Abnar & Zuidema, with vit-explain's fusion/discard options
  relevance.image / relevance.text        [P] / [T]  Chefer et al. 2021: R += mean_h relu(dS/dA * A) @ R
  gradcam.image                           [P]        Grad-CAM on visual.trunk.blocks.L.norm1
  legrad.image                            [P]        LeGrad, one autograd.grad per layer (CLS-pooled lens)
and with --mechanistic (small models: one forward per head):
  lens.cosine                             [L]        each block's [CLS] through trunk.norm and head.proj
  ablate.image.zero / ablate.image.mean   [L, H]     logit change when one image head is ablated
  ablate.text.zero / ablate.text.mean     [L, H]     the same for the text tower
  patch.image.resid                       [L, S]     recovered fraction when the clean block output at one
                                                     position is patched into a run on image --corrupt-image

Written from the methods' definitions (docs/explain.md), independently of the TypeScript code: gradients
come from torch.autograd.grad on tensors kept by forward hooks, one call per quantity, as the methods'
reference notebooks do.
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_model_dir  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", help="safetensors with inputs.pixel_values and inputs.input_ids (default: DIR/golden)")
    p.add_argument("--image", type=int, default=0)
    p.add_argument("--text", type=int, default=0)
    p.add_argument("--corrupt-image", type=int, default=1, help="the corrupted run of --mechanistic patching")
    p.add_argument("--layer", type=int, help="attention and gradcam block (default: the last)")
    p.add_argument("--head", type=int)
    p.add_argument("--start-layer", type=int, default=0, help="relevance's first layer")
    p.add_argument("--legrad-start-layer", type=int, help="default: layers - 2")
    p.add_argument("--head-fusion", choices=["mean", "max", "min"], default="mean")
    p.add_argument("--discard-ratio", type=float, default=0.0)
    p.add_argument("--pool", choices=["cls", "mean"], default="cls")
    p.add_argument("--mechanistic", action="store_true")
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


class Recorder:
    """Forward hooks that keep (not detach) the outputs of named modules, so autograd can differentiate
    with respect to them; `replace` lets a hook return a substitute output (ablation, patching)."""

    def __init__(self, model, names, replace=None):
        modules = dict(model.named_modules())
        self.out = {}
        self.replace = replace or {}
        self.handles = [modules[n].register_forward_hook(self._hook(n)) for n in names]

    def _hook(self, name):
        def hook(_module, _inputs, output):
            if name in self.replace:
                output = self.replace[name](output)
            self.out[name] = output
            return output
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def img_probs(l):
    return f"visual.trunk.blocks.{l}.attn.probs"


def txt_probs(l):
    return f"text.transformer.encoder.layer.{l}.attention.self.probs"


def pair_logit(model, pixels, ids):
    img = F.normalize(model.encode_image(pixels), dim=-1)
    txt = F.normalize(model.encode_text(ids), dim=-1)
    return (model.logit_scale.exp() * img @ txt.T)[0, 0]


def rollout(probs, fusion, discard):
    n = probs[0].shape[-1]
    joint = torch.eye(n, dtype=torch.float64)
    for a in probs:
        a = a[0].double()
        fused = {"mean": lambda: a.mean(0), "max": lambda: a.max(0).values, "min": lambda: a.min(0).values}[fusion]()
        fused = fused.clone()
        k = int(n * n * discard)
        if k > 0:
            flat = fused.view(-1)
            drop = torch.topk(flat, k, largest=False).indices
            flat[drop[drop != 0]] = 0
        step = fused + torch.eye(n, dtype=torch.float64)
        step = step / step.sum(dim=-1, keepdim=True)
        joint = step @ joint
    return joint[0]


def relevance(probs, grads):
    n = probs[0].shape[-1]
    r = torch.eye(n, dtype=torch.float64)
    for a, g in zip(probs, grads):
        cam = (g[0].double() * a[0].double()).clamp(min=0).mean(0)
        r = r + cam @ r
    return r[0]


def explanation_maps(model, args, pixels, ids):
    cfg = model.cfg
    lv, lt = cfg.vision.layers, cfg.text.num_hidden_layers
    layer = lv - 1 if args.layer is None else args.layer
    norm1 = f"visual.trunk.blocks.{layer}.norm1"
    names = [img_probs(l) for l in range(lv)] + [txt_probs(l) for l in range(lt)] + [norm1]
    rec = Recorder(model, names)
    s = pair_logit(model, pixels, ids)
    rec.close()
    out = {"logit": s.detach()}

    def head_mean(a):
        a = a[0].detach()
        return (a.mean(0) if args.head is None else a[args.head])[0]

    out["attention.image"] = head_mean(rec.out[img_probs(layer)])[1:]
    out["attention.text"] = head_mean(rec.out[txt_probs(min(layer, lt - 1))])
    out["rollout.image"] = rollout([rec.out[img_probs(l)].detach() for l in range(lv)], args.head_fusion, args.discard_ratio)[1:]
    out["rollout.text"] = rollout([rec.out[txt_probs(l)].detach() for l in range(lt)], args.head_fusion, args.discard_ratio)

    img_a = [rec.out[img_probs(l)] for l in range(args.start_layer, lv)]
    txt_a = [rec.out[txt_probs(l)] for l in range(args.start_layer, lt)]
    x = rec.out[norm1]
    grads = torch.autograd.grad(s, img_a + txt_a + [x], retain_graph=True)
    out["relevance.image"] = relevance([a.detach() for a in img_a], grads[:len(img_a)])[1:]
    out["relevance.text"] = relevance([a.detach() for a in txt_a], grads[len(img_a):-1])
    # Grad-CAM: channel weights = mean over the patch tokens of dS/dX; map = relu(X_patches @ w).
    gx, xv = grads[-1][0, 1:].double(), x.detach()[0, 1:].double()
    out["gradcam.image"] = (xv @ gx.mean(0)).clamp(min=0)
    out["legrad.image"] = legrad(model, args, pixels, ids)
    return out


def lens_features(model, tokens, pool):
    pooled = tokens[:, 0] if pool == "cls" else tokens.mean(1)
    return model.visual.head.proj(model.visual.trunk.norm(pooled))


def legrad(model, args, pixels, ids):
    """One forward, then for each layer l >= start: s_l = cos(lens(block l output), text), and
    autograd.grad(s_l, A_l); relu, mean over heads and queries, patch keys; summed over layers."""
    lv = model.cfg.vision.layers
    start = lv - 2 if args.legrad_start_layer is None else args.legrad_start_layer
    layers = list(range(start, lv))
    names = [img_probs(l) for l in layers] + [f"visual.trunk.blocks.{l}" for l in layers]
    text = F.normalize(model.encode_text(ids), dim=-1).detach()
    rec = Recorder(model, names)
    model.encode_image(pixels)
    rec.close()
    total = 0
    for l in layers:
        e = F.normalize(lens_features(model, rec.out[f"visual.trunk.blocks.{l}"], args.pool), dim=-1)
        s_l = (e * text).sum()
        (g,) = torch.autograd.grad(s_l, [rec.out[img_probs(l)]], retain_graph=True)
        total = total + g[0].double().clamp(min=0).mean(0).mean(0)[1:]
    return total


def mechanistic(model, args, pixels, ids, corrupt):
    cfg = model.cfg
    out = {}
    with torch.no_grad():
        lv = cfg.vision.layers
        blocks = [f"visual.trunk.blocks.{l}" for l in range(lv)]
        rec = Recorder(model, blocks)
        model.encode_image(pixels)
        rec.close()
        text = F.normalize(model.encode_text(ids), dim=-1)
        out["lens.cosine"] = torch.stack([(F.normalize(lens_features(model, rec.out[b], "cls"), dim=-1) * text).sum() for b in blocks])
        clean = pair_logit(model, pixels, ids)
        for tower, point, layers, heads in (("image", img_probs, lv, cfg.vision.heads),
                                             ("text", txt_probs, cfg.text.num_hidden_layers, cfg.text.num_attention_heads)):
            for mode in ("zero", "mean"):
                table = torch.zeros(layers, heads, dtype=torch.float64)
                for l in range(layers):
                    for h in range(heads):
                        table[l, h] = ablated_logit(model, pixels, ids, point(l), h, mode) - clean
                out[f"ablate.{tower}.{mode}"] = table
        out["patch.image.resid"] = patch_resid(model, pixels, corrupt, ids, rec.out)
    return out


def ablated_logit(model, pixels, ids, name, head, mode):
    """Zero-ablation sets head h's attention row to 0 (its context becomes 0); mean-ablation replaces
    every query's context by the mean over queries, i.e. every attention row by the mean row."""
    def edit(a):
        a = a.clone()
        a[:, head] = 0 if mode == "zero" else a[:, head].mean(dim=1, keepdim=True)
        return a
    rec = Recorder(model, [name], {name: edit})
    s = pair_logit(model, pixels, ids)
    rec.close()
    return s.double()


def patch_resid(model, clean_px, corrupt_px, ids, clean_out):
    """(s_patched - s_corrupt) / (s_clean - s_corrupt) for the clean block-l output patched in at one
    token position of the corrupted run."""
    s_clean = pair_logit(model, clean_px, ids).double()
    s_corrupt = pair_logit(model, corrupt_px, ids).double()
    lv = model.cfg.vision.layers
    n = clean_out["visual.trunk.blocks.0"].shape[1]
    table = torch.zeros(lv, n, dtype=torch.float64)
    for l in range(lv):
        name = f"visual.trunk.blocks.{l}"
        for pos in range(n):
            def edit(x, pos=pos, name=name):
                x = x.clone()
                x[:, pos] = clean_out[name][:, pos]
                return x
            rec = Recorder(model, [name], {name: edit})
            s = pair_logit(model, corrupt_px, ids).double()
            rec.close()
            table[l, pos] = (s - s_corrupt) / (s_clean - s_corrupt)
    return table


def main(argv=None):
    args = parse_args(argv)
    model = load_model_dir(args.model)
    for p in model.parameters():
        p.requires_grad_(True)  # so the forward builds a graph; only activations are differentiated
    tensors, _ = load_file(args.inputs or os.path.join(args.model, "golden.safetensors"))
    px_all = tensors["inputs.pixel_values"]
    ids_all = tensors["inputs.input_ids"]
    pixels = px_all[args.image:args.image + 1]
    row = ids_all[args.text]
    ids = row[row != 0].unsqueeze(0)  # one text, no padding
    out = explanation_maps(model, args, pixels, ids)
    if args.mechanistic:
        out.update(mechanistic(model, args, pixels, ids, px_all[args.corrupt_image:args.corrupt_image + 1]))
    out["inputs.input_ids"] = ids
    save_file({k: v.detach().to(torch.float32) if v.is_floating_point() else v for k, v in out.items()}, args.out,
              {"format": "biomedclip-ts explain reference v1", "command": " ".join(sys.argv[1:]), "torch": torch.__version__})


if __name__ == "__main__":
    main()
