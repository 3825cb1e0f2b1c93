"""Seeded random weights of realistic scale, so parity tests exercise every parameter.

timm-like: truncated normal (std 0.02, cut at +-2 std) for linear, conv and embedding weights, cls_token and
pos_embed. LayerNorm weights are 1 + 0.1*randn and every bias 0.02*randn, so no LayerNorm is an identity and
no bias is zero: a TS port that dropped a bias or swapped a LayerNorm's weight for its bias would show.
logit_scale = ln(100), the value BiomedCLIP's training clamps it to. Parameters are filled in state_dict order
from one torch.Generator, so the same seed gives the same bytes on the same torch version.
"""
import math

import torch

STD = 0.02
LN_WEIGHT_STD = 0.1
BIAS_STD = 0.02
# Phi(-2) and Phi(2): the uniform range whose inverse normal CDF is a normal truncated at +-2 std.
_LO = 0.5 * (1 + math.erf(-2 / math.sqrt(2)))
_HI = 0.5 * (1 + math.erf(2 / math.sqrt(2)))


def _trunc_normal(t, std, g):
    """Inverse-CDF sampling: uniform in [Phi(-2), Phi(2)] -> sqrt(2) * erfinv(2u - 1) * std."""
    u = torch.empty(t.shape, dtype=torch.float64).uniform_(_LO, _HI, generator=g)
    t.copy_((math.sqrt(2) * torch.erfinv(2 * u - 1) * std).to(t.dtype))


def _randn(shape, g):
    return torch.randn(shape, generator=g, dtype=torch.float32)


def _is_layernorm(key):
    leaf = key.rsplit(".", 2)[-2]
    return leaf in ("norm1", "norm2", "norm", "LayerNorm")


def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, p in model.named_parameters():
            if key == "logit_scale":
                p.fill_(math.log(100.0))
            elif _is_layernorm(key) and key.endswith(".weight"):
                p.copy_(1.0 + LN_WEIGHT_STD * _randn(p.shape, g))
            elif key.endswith(".bias"):
                p.copy_(BIAS_STD * _randn(p.shape, g))
            else:
                _trunc_normal(p, STD, g)
    return model
