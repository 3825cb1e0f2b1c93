"""The text tower: HF BertModel (no pooler) inside open_clip's HFTextEncoder.

Follows transformers/models/bert/modeling_bert.py (BertEmbeddings, BertSelfAttention in its eager path,
BertSelfOutput, BertIntermediate, BertOutput, BertLayer, BertEncoder, BertModel.get_extended_attention_mask)
and open_clip/hf_model.py (HFTextEncoder with the CLS pooler and the "mlp" projection). Dropout is left out
(identity at inference). The BERT is post-norm: LayerNorm(sublayer(x) + x), eps 1e-12.
"""
import math

import torch
import torch.nn as nn


class BertEmbeddings(nn.Module):
    """word + token_type(0), then + position, then LayerNorm. The add order is HF's, which matters for
    float32-exact parity. No position_ids buffer: positions are simply 0..T-1."""

    def __init__(self, c, dev):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, device=dev)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size, device=dev)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size, device=dev)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps, device=dev)

    def forward(self, input_ids):
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device).unsqueeze(0)  # [1, T]
        token_types = torch.zeros_like(input_ids)  # open_clip passes no token_type_ids: HF uses all zeros
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_types)
        x = x + self.position_embeddings(positions)
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    """Eager attention: scores = (q @ k^T) / sqrt(d) + mask, softmax over keys, probs @ v, heads merged.
    Unlike timm, HF divides the scores AFTER the product; both are kept as upstream writes them.
    scores (mask added), probs and context (per head, before merging) are Identity hook points."""

    def __init__(self, c, dev):
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size, device=dev)
        self.key = nn.Linear(c.hidden_size, c.hidden_size, device=dev)
        self.value = nn.Linear(c.hidden_size, c.hidden_size, device=dev)
        self.scores = nn.Identity()
        self.probs = nn.Identity()
        self.context = nn.Identity()

    def split_heads(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.head_dim).permute(0, 2, 1, 3)  # [B, H, T, D]

    def forward(self, x, mask):
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B, H, T, T]
        probs = self.probs(nn.functional.softmax(self.scores(scores + mask), dim=-1))
        ctx = self.context(torch.matmul(probs, v)).permute(0, 2, 1, 3).contiguous()  # [B, T, H, D]
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)  # [B, T, W]


class BertSelfOutput(nn.Module):
    """The attention sub-layer's output: LayerNorm(dense(context) + input)."""

    def __init__(self, c, dev):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size, device=dev)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps, device=dev)

    def forward(self, ctx, x):
        return self.LayerNorm(self.dense(ctx) + x)


class BertAttention(nn.Module):
    def __init__(self, c, dev):
        super().__init__()
        setattr(self, "self", BertSelfAttention(c, dev))  # HF's module really is named "self"
        self.output = BertSelfOutput(c, dev)

    def forward(self, x, mask):
        return self.output(getattr(self, "self")(x, mask), x)


class BertIntermediate(nn.Module):
    """dense W -> 4W, then exact erf GELU (BERT's hidden_act "gelu"), under HF's module name."""

    def __init__(self, c, dev):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size, device=dev)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(nn.Module):
    """The feed-forward sub-layer's output: LayerNorm(dense(h) + attention_output)."""

    def __init__(self, c, dev):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size, device=dev)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps, device=dev)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self, c, dev):
        super().__init__()
        self.attention = BertAttention(c, dev)
        self.intermediate = BertIntermediate(c, dev)
        self.output = BertOutput(c, dev)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c, dev):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c, dev) for _ in range(c.num_hidden_layers)])

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


def extended_attention_mask(attention_mask, dtype=torch.float32):
    """HF get_extended_attention_mask: [B,T] 1/0 -> [B,1,1,T] additive, 0 for real keys and the dtype's most
    negative finite value for padding. exp(min - max) underflows to exactly 0, so padding keys get weight 0
    and the features do not depend on how much padding follows the text."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


class BertModel(nn.Module):
    """BertModel built with add_pooling_layer semantics of the checkpoint: no pooler weights are present."""

    def __init__(self, c, dev):
        super().__init__()
        self.embeddings = BertEmbeddings(c, dev)
        self.encoder = BertEncoder(c, dev)

    def forward(self, input_ids, attention_mask):
        return self.encoder(self.embeddings(input_ids), extended_attention_mask(attention_mask))


class HFTextEncoder(nn.Module):
    """open_clip/hf_model.py HFTextEncoder: mask = ids != pad, CLS pooler on the last hidden state, then the
    "mlp" projection Linear(W, P, bias=False), GELU, Linear(P, E, bias=False) with P = (W + E) // 2."""

    def __init__(self, cfg, dev):
        super().__init__()
        c = cfg.text
        self.pad_token_id = c.pad_token_id
        self.transformer = BertModel(c, dev)
        self.proj = nn.Sequential(
            nn.Linear(c.hidden_size, cfg.proj_hidden, bias=False, device=dev),
            nn.GELU(),
            nn.Linear(cfg.proj_hidden, cfg.embed_dim, bias=False, device=dev),
        )

    def forward(self, input_ids):
        attention_mask = (input_ids != self.pad_token_id).long()
        hidden = self.transformer(input_ids, attention_mask)  # [B, T, W]
        return self.proj(hidden[:, 0, :])  # cls_last_hidden_state_pooler: token 0 -> [B, E]
