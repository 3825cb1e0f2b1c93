"""BiomedCLIP as open_clip builds it (CustomTextCLIP), as plain torch modules, plus activation capture.

state_dict() keys are exactly the open_clip checkpoint keys: `logit_scale`, `visual.trunk.*`,
`visual.head.proj.weight`, `text.transformer.*` (no position_ids buffer, no pooler) and `text.proj.{0,2}.weight`.
Every hook name is the path of a module, so one forward hook per name captures the whole contract.
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from bert import HFTextEncoder
from config import config_from_json
from vision import TimmModel


class BiomedCLIP(nn.Module):
    """open_clip/model.py CustomTextCLIP: `visual`, `text` and a scalar `logit_scale` (shape [], not [1])."""

    def __init__(self, cfg, dev=None):
        super().__init__()
        self.cfg = cfg
        self.visual = TimmModel(cfg, dev)
        self.text = HFTextEncoder(cfg, dev)
        # open_clip initialises this to ln(1/0.07); training clamps it at ln(100), where BiomedCLIP ends up.
        self.logit_scale = nn.Parameter(torch.full([], math.log(1 / 0.07), device=dev))

    def encode_image(self, pixel_values):
        return self.visual(pixel_values)  # unnormalized, as encode_image(normalize=False)

    def encode_text(self, input_ids):
        return self.text(input_ids)

    def logits(self, image_features, text_features):
        """open_clip forward: exp(scale) * normalize(img) @ normalize(txt)^T, F.normalize's eps 1e-12."""
        img = F.normalize(image_features, dim=-1)
        txt = F.normalize(text_features, dim=-1)
        return self.logit_scale.exp() * img @ txt.T  # [B_images, N_texts]


def build_model(config_json, dev=None):
    return BiomedCLIP(config_from_json(config_json), dev)


# ---------------------------------------------------------------- hook names (the TS contract)


def vision_hook_names(cfg):
    names = ["visual.trunk.patch_embed"]
    for i in range(cfg.vision.layers):
        b = f"visual.trunk.blocks.{i}"
        names += [f"{b}.norm1", f"{b}.attn.qkv", f"{b}.attn.probs", f"{b}.attn.proj", f"{b}.norm2",
                  f"{b}.mlp.fc1", f"{b}.mlp.act", f"{b}.mlp.fc2", b]
    return names + ["visual.trunk.norm", "visual.head.proj"]


def text_hook_names(cfg):
    names = ["text.transformer.embeddings"]
    for i in range(cfg.text.num_hidden_layers):
        layer = f"text.transformer.encoder.layer.{i}"
        s = f"{layer}.attention.self"
        names += [f"{s}.query", f"{s}.key", f"{s}.value", f"{s}.probs", s,
                  f"{layer}.attention.output.dense", f"{layer}.attention.output",
                  f"{layer}.intermediate.dense", f"{layer}.intermediate", f"{layer}.output.dense", layer]
    return names + ["text.proj.0", "text.proj.1", "text.proj"]


def hook_shapes(cfg, batch_images, batch_texts, text_len):
    """The shape each hook must have, as the contract lists them (S = tokens incl. CLS)."""
    v, t = cfg.vision, cfg.text
    B, S, W, H = batch_images, v.grid * v.grid + 1, v.width, v.heads
    N, T, TW, TH = batch_texts, text_len, t.hidden_size, t.num_attention_heads
    shapes = OrderedDict()
    for name in vision_hook_names(cfg):
        leaf = name.rsplit(".", 1)[-1]
        shapes[name] = {
            "patch_embed": [B, S - 1, W], "qkv": [B, S, 3 * W], "probs": [B, H, S, S],
            "fc1": [B, S, int(W * v.mlp_ratio)], "act": [B, S, int(W * v.mlp_ratio)], "proj": [B, S, W],
        }.get(leaf, [B, S, W])
    shapes["visual.head.proj"] = [B, cfg.embed_dim]
    for name in text_hook_names(cfg):
        if name.endswith(".probs"):
            shapes[name] = [N, TH, T, T]
        elif name.endswith("intermediate.dense") or name.endswith("intermediate"):
            shapes[name] = [N, T, t.intermediate_size]
        else:
            shapes[name] = [N, T, TW]
    shapes["text.proj.0"] = [N, cfg.proj_hidden]
    shapes["text.proj.1"] = [N, cfg.proj_hidden]
    shapes["text.proj"] = [N, cfg.embed_dim]
    return shapes


class Capture:
    """Forward hooks on the named modules; each captured output is a float32 copy, keyed by module path."""

    def __init__(self, model, names):
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise KeyError(f"no module for hook names: {missing[:5]}")
        self.tensors = OrderedDict()
        self.handles = [modules[n].register_forward_hook(self._hook(n)) for n in names]

    def _hook(self, name):
        def hook(_module, _inputs, output):
            if name in self.tensors:
                raise RuntimeError(f"hook {name} fired twice in one capture")
            self.tensors[name] = output.detach().to(torch.float32).contiguous().clone()
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def run_with_capture(model, pixel_values=None, input_ids=None):
    """Runs the towers that have inputs; returns (outputs, hooks), both ordered {name: tensor} maps."""
    cfg = model.cfg
    names = (vision_hook_names(cfg) if pixel_values is not None else []) + \
            (text_hook_names(cfg) if input_ids is not None else [])
    cap = Capture(model, names)
    out = OrderedDict()
    try:
        with torch.no_grad():
            if pixel_values is not None:
                out["outputs.image_features"] = model.encode_image(pixel_values)
            if input_ids is not None:
                out["outputs.text_features"] = model.encode_text(input_ids)
            if pixel_values is not None and input_ids is not None:
                out["outputs.logits_per_image"] = model.logits(out["outputs.image_features"],
                                                                out["outputs.text_features"])
            out["outputs.logit_scale"] = model.logit_scale.detach().clone()
    finally:
        cap.close()
    # Hooks fire in execution order; report them in the contract's order.
    hooks = OrderedDict((n, cap.tensors[n]) for n in names)
    return out, hooks


# ---------------------------------------------------------------- loading a model directory


def load_model_dir(directory):
    """Builds the model from DIR/open_clip_config.json and DIR/model.safetensors without random init: the
    modules are created on the meta device and each parameter then wraps the file's bytes (no extra copy)."""
    import json
    import os

    from safetensors_io import load_file

    with open(os.path.join(directory, "open_clip_config.json")) as f:
        model = build_model(json.load(f), dev="meta")
    tensors, _ = load_file(os.path.join(directory, "model.safetensors"))
    tensors.pop("text.transformer.embeddings.position_ids", None)  # the unused HF buffer, if a converter kept it
    expected = dict(model.named_parameters())
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{directory}: missing keys {missing[:3]}, unexpected keys {unexpected[:3]}")
    modules = dict(model.named_modules())
    for key, t in tensors.items():
        owner, _, leaf = key.rpartition(".")
        if list(t.shape) != list(expected[key].shape):
            raise ValueError(f"{directory}: {key} has shape {list(t.shape)}, expected {list(expected[key].shape)}")
        setattr(modules[owner], leaf, nn.Parameter(t.to(torch.float32), requires_grad=False))
    return model.eval()
