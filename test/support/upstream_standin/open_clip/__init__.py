"""A STAND-IN for open_clip, so that scripts/export_reference.py can run where open_clip can't be installed.

This is not open_clip. It builds biomedclip-ts's independent PyTorch reference (scripts/reference/) from a
model directory and then gives it the few surfaces that export_reference.py touches, shaped as upstream has
them (read from timm 1.0, transformers 4.4x-5.x and open_clip 2.x-3.x sources):

- open_clip: `create_model_from_pretrained(name)` -> (model, preprocess); `get_tokenizer(name)` -> a callable
  taking (texts, context_length=...) and returning int64 ids; the model has encode_image/encode_text and a
  `logit_scale` parameter.
- timm 1.0 `Attention`: a `fused_attn` flag that is True by default, in which case the softmax is never
  materialised and `attn_drop` is never called (as with F.scaled_dot_product_attention); with
  `fused_attn = False`, q is scaled, softmaxed, passed through `attn_drop` (an nn.Dropout(0.)), then @ v.
- transformers BertModel: a `config` with `_attn_implementation` ("sdpa" by default, as from_config picks
  on torch 2), `output_attentions` and `pad_token_id`; `set_attn_implementation(name)`; forward takes
  keywords (input_ids=, attention_mask=) and returns an output object with `last_hidden_state` and
  `attentions` (a tuple of [N, H, T, T] only when output_attentions is set and the implementation is eager);
  BertSelfAttention and BertLayer return tuples whose first item is the hidden state.
- open_clip HFTextEncoder: calls transformer(input_ids=..., attention_mask=...) and pools last_hidden_state[:, 0].

The model directory is the `name` given to create_model_from_pretrained (so `--model DIR`). The tokenizer is a
toy (one id per lowercase word, from a hash): parity runs compare both models on the ids in the file, so any
valid ids will do. STANDIN_FUSED_ONLY=1 makes Attention ignore fused_attn, as a future timm might: then the
probabilities are never exposed, and export_reference.py must refuse rather than write a file without them.
"""
import os
import sys
import types

import torch
import torch.nn as nn

__version__ = "0.0-standin"

_REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "scripts", "reference")
sys.path.insert(0, os.path.abspath(_REFERENCE))

import bert as ref_bert  # noqa: E402  (the reference's own modules, reshaped below)
import vision as ref_vision  # noqa: E402
from model import load_model_dir  # noqa: E402


class TimmAttention(ref_vision.Attention):
    fused_attn = True

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each [B, H, N, D]
        if self.fused_attn or os.environ.get("STANDIN_FUSED_ONLY") == "1":
            # What SDPA computes, with no module call in between: the probabilities stay internal.
            x = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1) @ v
        else:
            attn = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1))  # [B, H, N, N]
            x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))  # [B, N, C]


class HFSelfAttention(ref_bert.BertSelfAttention):
    def forward(self, x, mask, eager=True):
        q, k, v = (self.split_heads(m(x)) for m in (self.query, self.key, self.value))  # [B, H, T, D] each
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / (self.head_dim ** 0.5) + mask, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()  # [B, T, H, D]
        return ctx.view(ctx.shape[0], ctx.shape[1], -1), (probs if eager else None)  # ([B, T, W], probs)


class HFAttention(ref_bert.BertAttention):
    def forward(self, x, mask, eager=True):
        ctx, probs = getattr(self, "self")(x, mask, eager)
        return self.output(ctx, x), probs


class HFLayer(ref_bert.BertLayer):
    def forward(self, x, mask, eager=True):
        a, probs = self.attention(x, mask, eager)
        return self.output(self.intermediate(a), a), probs


class HFEncoder(ref_bert.BertEncoder):
    def forward(self, x, mask, eager=True):
        all_probs = []
        for layer in self.layer:
            x, probs = layer(x, mask, eager)
            all_probs.append(probs)
        return x, tuple(all_probs)


class HFBertModel(ref_bert.BertModel):
    def set_attn_implementation(self, name):
        self.config._attn_implementation = name

    def forward(self, input_ids=None, attention_mask=None):
        eager = self.config._attn_implementation == "eager"
        mask = ref_bert.extended_attention_mask(attention_mask)
        hidden, probs = self.encoder(self.embeddings(input_ids), mask, eager)
        wanted = self.config.output_attentions and eager
        return types.SimpleNamespace(last_hidden_state=hidden, attentions=probs if wanted else None)


class HFTextEncoder(ref_bert.HFTextEncoder):
    def forward(self, input_ids):
        out = self.transformer(input_ids=input_ids, attention_mask=(input_ids != self.pad_token_id).long())
        return self.proj(out.last_hidden_state[:, 0, :])  # [N, E]


def _reshape_like_upstream(model):
    for block in model.visual.trunk.blocks:
        block.attn.__class__ = TimmAttention
        del block.attn.probs
        block.attn.attn_drop = nn.Dropout(0.0)
    text = model.text
    text.__class__ = HFTextEncoder
    text.transformer.__class__ = HFBertModel
    text.transformer.encoder.__class__ = HFEncoder
    text.transformer.config = types.SimpleNamespace(
        _attn_implementation="sdpa", output_attentions=False, pad_token_id=text.pad_token_id)
    for layer in text.transformer.encoder.layer:
        layer.__class__ = HFLayer
        layer.attention.__class__ = HFAttention
        sa = getattr(layer.attention, "self")
        sa.__class__ = HFSelfAttention
        del sa.probs
    return model


def create_model_from_pretrained(model_name, pretrained=None, return_transform=True):
    if not os.path.isfile(os.path.join(model_name, "open_clip_config.json")):
        raise RuntimeError(f"open_clip stand-in: {model_name} is not a biomedclip-ts model directory")
    model = _reshape_like_upstream(load_model_dir(model_name))
    if not return_transform:
        return model
    from torchvision import transforms as T

    size = model.cfg.vision.image_size
    preprocess = T.Compose([
        T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
        T.CenterCrop(size),
        lambda im: im.convert("RGB"),
        T.ToTensor(),
        T.Normalize(mean=(0.48145466, 0.4578275, 0.40821073), std=(0.26862954, 0.26130258, 0.27577711)),
    ])
    return model, preprocess


def get_tokenizer(model_name):
    def tokenize(texts, context_length=256):
        ids = torch.zeros(len(texts), context_length, dtype=torch.int64)
        for row, text in enumerate(texts):
            words = [5 + sum(map(ord, w)) % 1000 for w in text.lower().split()]
            seq = [2] + words[: context_length - 2] + [3]  # [CLS] words [SEP], then [PAD] = 0
            ids[row, : len(seq)] = torch.tensor(seq)
        return ids

    return tokenize
