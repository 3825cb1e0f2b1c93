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


# ---------------------------------------------------------------- hook points

# Every module is a hook point under its path (as register_forward_hook sees it), except these, each with
# the reason. The TS model declares its points in its own modules; test/reference.test.ts checks that the
# golden files this reference writes hold exactly the points `biomedclip summary --json` lists.
NOT_HOOK_POINTS = {
    "visual": "its output is visual.head.proj's",
    "visual.trunk": "timm's trunk returns the pooled [CLS] vector; visual.trunk.norm holds every token",
    "visual.trunk.patch_embed.proj": "the Conv2d's [B,W,g,g] map; patch_embed publishes it as [B,N,W] tokens",
    "visual.trunk.blocks": "a Sequential: its output is the last block's",
    "visual.head": "a Sequential: its output is visual.head.proj's",
    "text": "its output is text.proj's",
    "text.transformer": "its output is the last encoder layer's",
    "text.transformer.encoder": "its output is the last layer's",
    "text.transformer.encoder.layer": "a ModuleList: it holds the layers and is never called",
    "text.transformer.embeddings.word_embeddings": "a table lookup; the embeddings' sum is published",
    "text.transformer.embeddings.position_embeddings": "a table lookup; the embeddings' sum is published",
    "text.transformer.embeddings.token_type_embeddings": "a table lookup; the embeddings' sum is published",
}


def hook_point_modules(model, tower):
    """(name, module) of every hook point of one tower ("visual" or "text")."""
    return [(n, m) for n, m in model.named_modules()
            if n.startswith(tower + ".") and n not in NOT_HOOK_POINTS]


class Capture:
    """Forward hooks on the given modules; each output is kept as a float32 copy, in the order they fire."""

    def __init__(self, named_modules):
        self.tensors = OrderedDict()
        self.handles = [m.register_forward_hook(self._hook(n)) for n, m in named_modules]

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
    """Runs the towers that have inputs; returns (outputs, hooks), both {name: tensor} maps in firing order."""
    points = (hook_point_modules(model, "visual") if pixel_values is not None else []) + \
             (hook_point_modules(model, "text") if input_ids is not None else [])
    cap = Capture(points)
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
    silent = [n for n, _ in points if n not in cap.tensors]
    if silent:
        raise RuntimeError(f"hook points that never fired: {silent[:5]}")
    return out, cap.tensors


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
