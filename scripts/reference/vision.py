"""The image tower: timm's VisionTransformer (vit_base_patch16_224) inside open_clip's TimmModel.

Follows timm/models/vision_transformer.py (VisionTransformer, Block, Attention), timm/layers/mlp.py (Mlp),
timm/layers/patch_embed.py (PatchEmbed) and open_clip/timm_model.py (TimmModel). Dropout, drop-path and
identity layers (norm_pre, fc_norm, q_norm/k_norm, layer scale) are left out: they do nothing at inference
in this model. `dev` is the device the parameters are created on ("meta" lets a loader skip random init).
"""
import torch
import torch.nn as nn


class PatchEmbed(nn.Module):
    """timm/layers/patch_embed.py PatchEmbed: a stride-p conv, then [B,W,g,g] -> [B,g*g,W] (row-major patches)."""

    def __init__(self, c, dev):
        super().__init__()
        self.proj = nn.Conv2d(3, c.width, c.patch_size, stride=c.patch_size, bias=True, device=dev)

    def forward(self, x):
        x = self.proj(x)  # [B, W, g, g]
        return x.flatten(2).transpose(1, 2)  # [B, g*g, W]


class Attention(nn.Module):
    """timm/models/vision_transformer.py Attention, non-fused path: q is scaled BEFORE q @ k^T, as timm does.
    scores, probs and context are Identity modules: hook points for the pre-softmax scores [B,H,N,N], the
    softmax output [B,H,N,N] and each head's weighted sum of values [B,H,N,D] (no parameters)."""

    def __init__(self, c, dev):
        super().__init__()
        self.num_heads = c.heads
        self.head_dim = c.head_width
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(c.width, 3 * c.width, bias=True, device=dev)
        self.scores = nn.Identity()
        self.probs = nn.Identity()
        self.context = nn.Identity()
        self.proj = nn.Linear(c.width, c.width, device=dev)

    def forward(self, x):
        B, N, C = x.shape
        # qkv feature f is slot f // C (q, k, v), head (f % C) // head_dim: [B,N,3C] -> [3,B,H,N,D]
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q = q * self.scale
        attn = self.probs(self.scores(q @ k.transpose(-2, -1)).softmax(dim=-1))  # [B,H,N,N]
        x = self.context(attn @ v).transpose(1, 2).reshape(B, N, C)  # heads merged back: [B,N,C]
        return self.proj(x)


class Mlp(nn.Module):
    """timm/layers/mlp.py Mlp: fc1, exact erf GELU (nn.GELU default), fc2."""

    def __init__(self, c, dev):
        super().__init__()
        hidden = int(c.width * c.mlp_ratio)
        self.fc1 = nn.Linear(c.width, hidden, device=dev)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, c.width, device=dev)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """timm Block, pre-norm: x + attn(norm1(x)), then x + mlp(norm2(x)); no layer scale in ViT-B/16.
    resid_mid is an Identity hook point on the residual stream between the two halves."""

    def __init__(self, c, dev):
        super().__init__()
        self.norm1 = nn.LayerNorm(c.width, eps=c.eps, device=dev)
        self.attn = Attention(c, dev)
        self.resid_mid = nn.Identity()
        self.norm2 = nn.LayerNorm(c.width, eps=c.eps, device=dev)
        self.mlp = Mlp(c, dev)

    def forward(self, x):
        x = self.resid_mid(x + self.attn(self.norm1(x)))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """timm VisionTransformer as open_clip's TimmModel leaves it: classifier removed, global_pool 'token'
    (timm_pool "" keeps the default), so the trunk returns the final-normed CLS token."""

    def __init__(self, c, dev):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.width, device=dev))
        self.pos_embed = nn.Parameter(torch.zeros(1, c.grid * c.grid + 1, c.width, device=dev))
        self.patch_embed = PatchEmbed(c, dev)
        self.blocks = nn.Sequential(*[Block(c, dev) for _ in range(c.layers)])
        self.norm = nn.LayerNorm(c.width, eps=c.eps, device=dev)

    def forward(self, x):
        x = self.patch_embed(x)  # [B, N, W]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed  # timm _pos_embed: CLS first, then add all positions
        x = self.norm(self.blocks(x))
        return x[:, 0]  # [B, W]


class TimmModel(nn.Module):
    """open_clip/timm_model.py TimmModel with timm_proj "linear": head = Linear(width, embed_dim, bias=False)."""

    def __init__(self, cfg, dev):
        super().__init__()
        self.trunk = VisionTransformer(cfg.vision, dev)
        self.head = nn.Sequential()
        self.head.add_module("proj", nn.Linear(cfg.vision.width, cfg.embed_dim, bias=False, device=dev))

    def forward(self, x):
        return self.head(self.trunk(x))
