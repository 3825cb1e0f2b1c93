#!/usr/bin/python3
"""Fast self-checks of the PyTorch reference, independent of the TS code.

  /usr/bin/python3 scripts/reference/selfcheck.py            # tiny model, a few seconds
  /usr/bin/python3 scripts/reference/selfcheck.py --full     # also the full-size model (about a minute)

1. state_dict keys and shapes: the open_clip checkpoint's (full size: 351 tensors, 195,902,721 values).
2. Every hook point fires once, as float32; attention's scores/probs/context have their [B,H,S,S|D] shapes
   and agree with each other (softmax(scores) = probs).
3. The written-out attention equals softmax(q k^T * scale) v computed another way from the captured q/k/v
   (explicit per-head slicing of the fused qkv for timm, einsum with a boolean mask for BERT).
4. Whole layers against torch's own nn.TransformerEncoderLayer loaded with the same weights (pre-norm for
   the ViT block, post-norm for the BERT layer), which shares no code with ours.
5. Padding invariance: text features padded to the longest text vs to 256 differ by <= 1e-5.
6. model.safetensors round trip: written, read back, loaded: bit-identical outputs.
Exits 1 with the failing check's name and margin on the first failure.
"""
import argparse
import math
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert import extended_attention_mask  # noqa: E402
from config import CONFIGS  # noqa: E402
from init_weights import init_weights  # noqa: E402
from inputs import pad_ids, seeded_ids, seeded_pixels  # noqa: E402
from model import build_model, run_with_capture  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

TOL = 1e-5
FULL_PARAMS = 195_902_721


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
    if not ok:
        sys.exit(1)


def max_diff(a, b):
    return float((a - b).abs().max())


def check_keys(model, size):
    sd = model.state_dict()
    bad = [k for k in sd if not (k == "logit_scale" or k.startswith("visual.trunk.") or
                                 k == "visual.head.proj.weight" or k.startswith("text.transformer.") or
                                 k in ("text.proj.0.weight", "text.proj.2.weight"))]
    bad += [k for k in sd if "position_ids" in k or "pooler" in k or ".head." in k and "visual.head.proj" not in k]
    check(f"{size}: state_dict keys are open_clip's", not bad, str(bad[:3]))
    if size == "full":
        n = sum(t.numel() for t in sd.values())
        check("full: parameter count", len(sd) == 351 and n == FULL_PARAMS, f"{len(sd)} tensors, {n} values")


def check_hooks(model, hooks, n_img, n_txt, T):
    v, t = model.cfg.vision, model.cfg.text
    S, TH = v.grid * v.grid + 1, t.num_attention_heads
    want = {}
    for i in range(v.layers):
        a = f"visual.trunk.blocks.{i}.attn"
        want.update({f"{a}.scores": [n_img, v.heads, S, S], f"{a}.probs": [n_img, v.heads, S, S],
                     f"{a}.context": [n_img, v.heads, S, v.head_width]})
    for i in range(t.num_hidden_layers):
        a = f"text.transformer.encoder.layer.{i}.attention.self"
        want.update({f"{a}.scores": [n_txt, TH, T, T], f"{a}.probs": [n_txt, TH, T, T],
                     f"{a}.context": [n_txt, TH, T, t.hidden_size // TH]})
    wrong = [(k, list(hooks[k].shape) if k in hooks else None, s) for k, s in want.items()
             if k not in hooks or list(hooks[k].shape) != s]
    check("attention hook points and shapes", not wrong, f"{len(hooks)} hooks {wrong[:2]}")
    worst = max(max_diff(F.softmax(hooks[k[:-len(".probs")] + ".scores"], dim=-1), hooks[k]) for k in want if k.endswith(".probs"))
    check("softmax(scores) = probs at every attention", worst <= TOL, f"max|diff| {worst:.2e}")
    dtypes = {v.dtype for v in hooks.values()}
    check("hooks are float32", dtypes == {torch.float32})


def check_vit_attention(model, hooks, i):
    """probs and the pre-proj context from the captured fused qkv, one head at a time by explicit slicing."""
    c = model.cfg.vision
    W, D = c.width, c.head_width
    qkv = hooks[f"visual.trunk.blocks.{i}.attn.qkv"]  # [B, S, 3W]
    heads = []
    for h in range(c.heads):
        q = qkv[..., 0 * W + h * D: 0 * W + (h + 1) * D]
        k = qkv[..., 1 * W + h * D: 1 * W + (h + 1) * D]
        heads.append(F.softmax(torch.einsum("bsd,btd->bst", q, k) * D ** -0.5, dim=-1))
    probs = torch.stack(heads, 1)
    d = max_diff(probs, hooks[f"visual.trunk.blocks.{i}.attn.probs"])
    check(f"vit block {i}: probs vs per-head recomputation", d <= TOL, f"max|diff| {d:.2e}")


def check_bert_attention(model, hooks, ids, i):
    c = model.cfg.text
    H, D = c.num_attention_heads, c.hidden_size // c.num_attention_heads
    s = f"text.transformer.encoder.layer.{i}.attention.self"
    q, k, v = (hooks[f"{s}.{n}"].unflatten(-1, (H, D)) for n in ("query", "key", "value"))  # [B,T,H,D]
    scores = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D)
    scores = scores.masked_fill((ids == 0)[:, None, None, :], float("-inf"))
    probs = F.softmax(scores, dim=-1)
    ctx = torch.einsum("bhts,bshd->bthd", probs, v).flatten(2)
    d1, d2 = max_diff(probs, hooks[f"{s}.probs"]), max_diff(ctx, hooks[s])
    check(f"bert layer {i}: probs and context vs -inf-masked einsum", max(d1, d2) <= TOL,
          f"max|diff| {d1:.2e} / {d2:.2e}")
    pad_weight = float(hooks[f"{s}.probs"].masked_select((ids == 0)[:, None, None, :]).abs().max()) \
        if bool((ids == 0).any()) else 0.0
    check(f"bert layer {i}: padding keys get weight exactly 0", pad_weight == 0.0, f"{pad_weight}")


def torch_encoder_layer(width, heads, ffn, eps, norm_first):
    layer = nn.TransformerEncoderLayer(width, heads, ffn, dropout=0.0, activation="gelu",
                                       layer_norm_eps=eps, batch_first=True, norm_first=norm_first)
    return layer.eval()


def check_vit_block_vs_torch(model, hooks, i):
    c = model.cfg.vision
    blk = model.visual.trunk.blocks[i]
    ref = torch_encoder_layer(c.width, c.heads, int(c.width * c.mlp_ratio), c.eps, norm_first=True)
    pairs = [(ref.self_attn.in_proj_weight, blk.attn.qkv.weight), (ref.self_attn.in_proj_bias, blk.attn.qkv.bias),
             (ref.self_attn.out_proj.weight, blk.attn.proj.weight), (ref.self_attn.out_proj.bias, blk.attn.proj.bias),
             (ref.linear1.weight, blk.mlp.fc1.weight), (ref.linear1.bias, blk.mlp.fc1.bias),
             (ref.linear2.weight, blk.mlp.fc2.weight), (ref.linear2.bias, blk.mlp.fc2.bias),
             (ref.norm1.weight, blk.norm1.weight), (ref.norm1.bias, blk.norm1.bias),
             (ref.norm2.weight, blk.norm2.weight), (ref.norm2.bias, blk.norm2.bias)]
    with torch.no_grad():
        for dst, src in pairs:
            dst.copy_(src)
        x = hooks[f"visual.trunk.blocks.{i - 1}"]
        d = max_diff(ref(x), hooks[f"visual.trunk.blocks.{i}"])
    check(f"vit block {i} vs nn.TransformerEncoderLayer(norm_first)", d <= TOL, f"max|diff| {d:.2e}")


def check_bert_layer_vs_torch(model, hooks, ids, i):
    c = model.cfg.text
    L = model.text.transformer.encoder.layer[i]
    sa, ao = getattr(L.attention, "self"), L.attention.output
    ref = torch_encoder_layer(c.hidden_size, c.num_attention_heads, c.intermediate_size, c.layer_norm_eps, False)
    pairs = [(ref.self_attn.in_proj_weight, torch.cat([sa.query.weight, sa.key.weight, sa.value.weight])),
             (ref.self_attn.in_proj_bias, torch.cat([sa.query.bias, sa.key.bias, sa.value.bias])),
             (ref.self_attn.out_proj.weight, ao.dense.weight), (ref.self_attn.out_proj.bias, ao.dense.bias),
             (ref.norm1.weight, ao.LayerNorm.weight), (ref.norm1.bias, ao.LayerNorm.bias),
             (ref.linear1.weight, L.intermediate.dense.weight), (ref.linear1.bias, L.intermediate.dense.bias),
             (ref.linear2.weight, L.output.dense.weight), (ref.linear2.bias, L.output.dense.bias),
             (ref.norm2.weight, L.output.LayerNorm.weight), (ref.norm2.bias, L.output.LayerNorm.bias)]
    with torch.no_grad():
        for dst, src in pairs:
            dst.copy_(src)
        x = hooks[f"text.transformer.encoder.layer.{i - 1}"]
        y = ref(x, src_key_padding_mask=(ids == 0))
    real = ids != 0  # torch's fast path may leave padded query rows as anything: compare real tokens only
    d = max_diff(y[real], hooks[f"text.transformer.encoder.layer.{i}"][real])
    check(f"bert layer {i} vs nn.TransformerEncoderLayer(post-norm)", d <= TOL, f"max|diff| {d:.2e}")


def check_padding(model, ids, size):
    with torch.no_grad():
        short = model.encode_text(ids)
        long = model.encode_text(pad_ids(ids, 256))
    d = max_diff(short, long)
    check(f"{size}: text features padded to {ids.shape[1]} vs 256", d <= TOL, f"max|diff| {d:.2e}")


def check_round_trip(model, cfg_json, pixels, ids, outputs):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        save_file(model.state_dict(), path)
        tensors, _ = load_file(path)
        again = build_model(cfg_json, dev="meta").to_empty(device="cpu")
        again.load_state_dict(tensors, strict=True)
        again.eval()
        with torch.no_grad():
            img, txt = again.encode_image(pixels), again.encode_text(ids)
    same = torch.equal(img, outputs["outputs.image_features"]) and torch.equal(txt, outputs["outputs.text_features"])
    check("model.safetensors round trip: bit-identical features", same)


def run(size, seed=0):
    print(f"# {size}")
    cfg_json = CONFIGS[size]
    model = init_weights(build_model(cfg_json), seed).eval()
    check_keys(model, size)
    g = torch.Generator().manual_seed(seed + 1)
    pixels = seeded_pixels(model.cfg.vision.image_size, cfg_json["preprocess_cfg"]["mean"],
                           cfg_json["preprocess_cfg"]["std"], g)
    ids = seeded_ids(model.cfg.text.vocab_size, g)
    outputs, hooks = run_with_capture(model, pixels, ids)
    check_hooks(model, hooks, pixels.shape[0], ids.shape[0], ids.shape[1])
    for i in range(model.cfg.vision.layers):
        check_vit_attention(model, hooks, i)
    for i in range(model.cfg.text.num_hidden_layers):
        check_bert_attention(model, hooks, ids, i)
    check_vit_block_vs_torch(model, hooks, 1)
    check_bert_layer_vs_torch(model, hooks, ids, 1)
    check_padding(model, ids, size)
    check_round_trip(model, cfg_json, pixels, ids, outputs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="also check the full-size model")
    args = p.parse_args()
    run("tiny")
    if args.full:
        run("full")
    print("selfcheck: all passed")


if __name__ == "__main__":
    main()
