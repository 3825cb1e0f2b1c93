#!/usr/bin/python3
"""Writes PyTorch checkpoints for the checkpoint-reader and convert tests, using Debian's torch 1.13.

Run with /usr/bin/python3 (the interpreter that has torch):

    /usr/bin/python3 scripts/make_torch_fixtures.py --out DIR          # tiny checkpoints + hostile files
    /usr/bin/python3 scripts/make_torch_fixtures.py --full --out DIR   # full-size random BiomedCLIP (784 MB)

Every checkpoint holds the open_clip key layout of the model config (tiny: the test config, embed_dim 16,
width 32, 2 layers per tower). Next to them, `expected.safetensors` holds the same tensors as contiguous
float32, written by hand with struct + json (no safetensors package needed), to compare against.

The tiny set covers how real files differ: float16 storage, non-contiguous views (transposed weights,
slices of one fused storage, several tensors sharing a storage), a `module.` prefix with pooler keys,
big-endian storages (torch 1.13 cannot write them, so the zip is rewritten with a `byteorder` record),
the legacy pre-1.6 format, and hostile files that must be refused without running anything.
"""
import argparse
import collections
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

TINY_CONFIG = {
    "model_cfg": {
        "embed_dim": 16,
        "vision_cfg": {"timm_model_name": "vit_base_patch16_224", "timm_pool": "", "timm_proj": "linear",
                       "image_size": 64, "patch_size": 16, "width": 32, "layers": 2, "head_width": 16,
                       "mlp_ratio": 4},
        "text_cfg": {"hf_model_name": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract",
                     "hf_proj_type": "mlp", "hf_pooler_type": "cls_last_hidden_state_pooler",
                     "context_length": 256,
                     "hf_model_config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                         "intermediate_size": 128, "vocab_size": 1024,
                                         "max_position_embeddings": 512, "type_vocab_size": 2,
                                         "layer_norm_eps": 1e-12}}},
    "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                       "std": [0.26862954, 0.26130258, 0.27577711]},
}

FULL_DIMS = dict(embed=512, image=224, patch=16, vw=768, vl=12, mlp=3072,
                 tw=768, tl=12, inter=3072, vocab=30522, maxpos=512, types=2)


def dims_of(cfg):
    m = cfg["model_cfg"]
    v, t = m["vision_cfg"], m["text_cfg"]
    h = t.get("hf_model_config")
    if "width" not in v or h is None:
        return FULL_DIMS
    return dict(embed=m["embed_dim"], image=v["image_size"], patch=v["patch_size"], vw=v["width"],
                vl=v["layers"], mlp=int(v["width"] * v["mlp_ratio"]), tw=h["hidden_size"],
                tl=h["num_hidden_layers"], inter=h["intermediate_size"], vocab=h["vocab_size"],
                maxpos=h["max_position_embeddings"], types=h["type_vocab_size"])


def key_shapes(d):
    """The open_clip state-dict layout (same order as src/model/keys.ts), Linear weights [out, in]."""
    s = collections.OrderedDict()
    s["logit_scale"] = []
    grid = d["image"] // d["patch"]
    W = d["vw"]
    s["visual.trunk.cls_token"] = [1, 1, W]
    s["visual.trunk.pos_embed"] = [1, grid * grid + 1, W]
    s["visual.trunk.patch_embed.proj.weight"] = [W, 3, d["patch"], d["patch"]]
    s["visual.trunk.patch_embed.proj.bias"] = [W]
    for i in range(d["vl"]):
        b = "visual.trunk.blocks.%d" % i
        for name, out, inp in [("norm1", W, None), ("attn.qkv", 3 * W, W), ("attn.proj", W, W),
                               ("norm2", W, None), ("mlp.fc1", d["mlp"], W), ("mlp.fc2", W, d["mlp"])]:
            if inp is not None:
                s["%s.%s.weight" % (b, name)] = [out, inp]
            else:
                s["%s.%s.weight" % (b, name)] = [out]
            s["%s.%s.bias" % (b, name)] = [out]
    s["visual.trunk.norm.weight"] = [W]
    s["visual.trunk.norm.bias"] = [W]
    s["visual.head.proj.weight"] = [d["embed"], W]
    T = d["tw"]
    e = "text.transformer.embeddings"
    s[e + ".word_embeddings.weight"] = [d["vocab"], T]
    s[e + ".position_embeddings.weight"] = [d["maxpos"], T]
    s[e + ".token_type_embeddings.weight"] = [d["types"], T]
    s[e + ".LayerNorm.weight"] = [T]
    s[e + ".LayerNorm.bias"] = [T]
    for i in range(d["tl"]):
        l = "text.transformer.encoder.layer.%d" % i
        for name, out, inp in [("attention.self.query", T, T), ("attention.self.key", T, T),
                               ("attention.self.value", T, T), ("attention.output.dense", T, T),
                               ("attention.output.LayerNorm", T, None), ("intermediate.dense", d["inter"], T),
                               ("output.dense", T, d["inter"]), ("output.LayerNorm", T, None)]:
            s["%s.%s.weight" % (l, name)] = [out, inp] if inp is not None else [out]
            s["%s.%s.bias" % (l, name)] = [out]
    p = (T + d["embed"]) // 2
    s["text.proj.0.weight"] = [p, T]
    s["text.proj.2.weight"] = [d["embed"], p]
    return s


def random_state_dict(d, seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    for k, shape in key_shapes(d).items():
        sd[k] = torch.randn(shape, generator=g) * 0.02
    sd["logit_scale"] = torch.tensor(4.6052)
    # The real file carries this int64 buffer (unused by the forward pass); convert drops it.
    sd["text.transformer.embeddings.position_ids"] = torch.arange(d["maxpos"]).unsqueeze(0)
    return sd


def write_expected(path, sd):
    """Contiguous float32 copies of the float tensors, as safetensors written with struct + json."""
    header, blobs, off = {}, [], 0
    for k, v in sd.items():
        if not v.is_floating_point():
            continue
        blob = v.detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def views_state_dict(sd):
    """Same values, saved as non-contiguous views: transposed storage, fused q/k/v, shared and offset storages."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        out[k] = v
    for k, v in sd.items():
        if k.endswith("attn.proj.weight") or k.endswith("mlp.fc1.weight"):
            out[k] = v.t().contiguous().t()  # strides (1, out): a transposed view of a [in, out] storage
    for i in range(2):
        l = "text.transformer.encoder.layer.%d.attention.self." % i
        fused = torch.cat([sd[l + n + ".weight"] for n in ("query", "key", "value")])  # [3T, T] storage
        T = fused.shape[1]
        for j, n in enumerate(("query", "key", "value")):
            out[l + n + ".weight"] = fused[j * T:(j + 1) * T]  # views at storage offsets 0, T*T, 2*T*T
    # A strided slice: every other column of a wider storage.
    pos = sd["visual.trunk.pos_embed"]
    wide = torch.zeros(pos.shape[0], pos.shape[1], pos.shape[2] * 2)
    wide[..., ::2] = pos
    out["visual.trunk.pos_embed"] = wide[..., ::2]
    return out


def save_zip_records(path, records):
    """A torch-like zip (stored records under archive/) from {name: bytes}."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in records.items():
            z.writestr("archive/" + name, data)


def rewrite_big_endian(src, dst):
    """torch >= 2.1 writes a byteorder record; emulate a big-endian checkpoint by swapping every storage."""
    zin = zipfile.ZipFile(src)
    prefix = [n for n in zin.namelist() if n.endswith("/data.pkl")][0][:-len("data.pkl")]
    pkl = zin.read(prefix + "data.pkl")
    elem = storage_element_sizes(pkl)
    records = collections.OrderedDict()
    for name in zin.namelist():
        data = zin.read(name)
        rel = name[len(prefix):]
        if rel.startswith("data/"):
            n = elem[rel[len("data/"):]]
            data = b"".join(data[i:i + n][::-1] for i in range(0, len(data), n))
        records[rel] = data
    records["byteorder"] = b"big"
    save_zip_records(dst, records)


def storage_element_sizes(pkl):
    """Storage key -> element size, read from the persistent ids without loading anything."""
    sizes = {}

    class Peek(pickle.Unpickler):
        def persistent_load(self, pid):
            sizes[pid[2]] = pid[1](0).element_size()
            return pid[1](pid[4])

    Peek(__import__("io").BytesIO(pkl)).load()
    return sizes


# --- hostile files -------------------------------------------------------------------------------------

class FakeStorage:
    def __init__(self, key, numel, kind=torch.FloatStorage):
        self.key, self.numel, self.kind = key, numel, kind


class FakeTensor:
    """Pickles as torch does (_rebuild_tensor_v2 over a persistent storage id) with any size/stride/offset."""
    def __init__(self, storage, size, stride, offset=0):
        self.storage, self.size, self.stride, self.offset = storage, size, stride, offset

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def torch_like_pickle(obj):
    import io
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


class RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def write_hostile(out, tiny_path):
    marker = os.path.join(out, "PWNED")
    f32 = lambda n: struct.pack("<%df" % n, *range(n))
    ok_storage = {"data/0": f32(4), "version": b"3\n"}

    def ckpt(name, pkl, extra=None):
        records = collections.OrderedDict([("data.pkl", pkl)])
        records.update(extra if extra is not None else ok_storage)
        save_zip_records(os.path.join(out, name), records)

    ckpt("hostile_os_system.pt", pickle.dumps(collections.OrderedDict(x=RunsCommand(marker)), protocol=2))
    ckpt("hostile_eval.pt", b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R.")
    ckpt("hostile_reduce_storage.pt", b"\x80\x02ctorch\nFloatStorage\nK\x05\x85R.")
    ckpt("hostile_deep_marks.pt", b"\x80\x02" + b"(" * 100000 + b")" + b"t" * 100000 + b".")
    ckpt("hostile_deep_lists.pt", b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b".")
    ckpt("hostile_not_tensor.pt", pickle.dumps(collections.OrderedDict(x=[1, 2, 3]), protocol=2))
    ckpt("hostile_short_storage.pt",
         torch_like_pickle(collections.OrderedDict(x=FakeTensor(FakeStorage("0", 100), [100], [1]))))
    ckpt("hostile_view_past_storage.pt",
         torch_like_pickle(collections.OrderedDict(x=FakeTensor(FakeStorage("0", 4), [2, 3], [3, 1]))))
    ckpt("hostile_missing_storage.pt",
         torch_like_pickle(collections.OrderedDict(x=FakeTensor(FakeStorage("7", 4), [4], [1]))))
    ckpt("hostile_truncated_pickle.pt",
         torch_like_pickle(collections.OrderedDict(x=FakeTensor(FakeStorage("0", 4), [4], [1])))[:-9])

    data = open(tiny_path, "rb").read()
    with open(os.path.join(out, "hostile_truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    corrupt = bytearray(data)
    z = zipfile.ZipFile(tiny_path)
    info = [i for i in z.infolist() if i.filename.endswith("/data/3")][0]
    # The local header's extra field (torch pads records to 64-byte alignment there) differs from the central one.
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    pos = info.header_offset + 30 + name_len + extra_len + 5
    corrupt[pos] ^= 0xFF
    with open(os.path.join(out, "hostile_corrupt.pt"), "wb") as f:
        f.write(bytes(corrupt))

    # Zip bombs: a deflated data.pkl that expands ~1000x, declared honestly (over the cap) ...
    bomb = b"\x80\x02" + b"N0" * (40 * 1024 * 1024) + b"N."
    with zipfile.ZipFile(os.path.join(out, "hostile_bomb.pt"), "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", bomb)
    # ... and one that lies: declares 1000 bytes, inflates to 80 MB.
    lying = os.path.join(out, "hostile_bomb_lying.pt")
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", bomb)
    patch_declared_size(lying, 1000)
    with open(os.path.join(out, "hostile_not_zip.pt"), "wb") as f:
        f.write(b"this is not a checkpoint\n" * 10)


def patch_declared_size(path, size):
    """Overwrites the uncompressed-size field of the first record in both its local and central headers."""
    buf = bytearray(open(path, "rb").read())
    struct.pack_into("<I", buf, 22, size)  # local header: uncompressed size at +22
    cd = buf.rfind(b"PK\x01\x02")
    struct.pack_into("<I", buf, cd + 24, size)  # central entry: uncompressed size at +24
    with open(path, "wb") as f:
        f.write(bytes(buf))


def write_tiny(out):
    d = dims_of(TINY_CONFIG)
    sd = random_state_dict(d, seed=0)
    with open(os.path.join(out, "open_clip_config.json"), "w") as f:
        json.dump(TINY_CONFIG, f, indent=2)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]"] + ["[unused%d]" % i for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                          + ["tok%d" % i for i in range(d["vocab"] - 104)]) + "\n")
    write_expected(os.path.join(out, "expected.safetensors"), sd)
    tiny = os.path.join(out, "tiny.pt")
    torch.save(sd, tiny)
    torch.save(collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()),
               os.path.join(out, "tiny_f16.pt"))
    torch.save(views_state_dict(sd), os.path.join(out, "tiny_views.pt"))
    prefixed = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    prefixed["module.text.transformer.pooler.dense.weight"] = torch.randn(d["tw"], d["tw"])
    prefixed["module.text.transformer.pooler.dense.bias"] = torch.randn(d["tw"])
    torch.save(prefixed, os.path.join(out, "tiny_module.pt"))
    rewrite_big_endian(tiny, os.path.join(out, "tiny_big.pt"))
    torch.save(sd, os.path.join(out, "tiny_legacy.pt"), _use_new_zipfile_serialization=False)
    # A training checkpoint wraps the weights; the Parameter path (_rebuild_parameter) is exercised too.
    wrapped = collections.OrderedDict((k, torch.nn.Parameter(v, requires_grad=False) if v.is_floating_point() else v)
                                      for k, v in sd.items())
    torch.save({"epoch": 3, "state_dict": wrapped}, os.path.join(out, "tiny_wrapped.pt"))
    missing = collections.OrderedDict(sd)
    del missing["visual.trunk.norm.bias"]
    torch.save(missing, os.path.join(out, "tiny_missing_key.pt"))
    wrong = collections.OrderedDict(sd)
    wrong["visual.head.proj.weight"] = torch.zeros(d["embed"] + 1, d["vw"])
    torch.save(wrong, os.path.join(out, "tiny_wrong_shape.pt"))
    extra = collections.OrderedDict(sd)
    extra["visual.trunk.head.weight"] = torch.zeros(3, 3)
    torch.save(extra, os.path.join(out, "tiny_unexpected_key.pt"))
    # Non-finite and out-of-range weights: refused by convert (and by the loader), named with their count.
    nan = collections.OrderedDict(sd)
    nan["visual.trunk.patch_embed.proj.weight"] = sd["visual.trunk.patch_embed.proj.weight"].clone()
    nan["visual.trunk.patch_embed.proj.weight"].view(-1)[5] = float("nan")
    torch.save(nan, os.path.join(out, "tiny_nan.pt"))
    inf_scale = collections.OrderedDict(sd)
    inf_scale["logit_scale"] = torch.tensor(float("inf"))
    torch.save(inf_scale, os.path.join(out, "tiny_inf_scale.pt"))
    beyond_f16 = collections.OrderedDict(sd)
    beyond_f16["visual.head.proj.weight"] = sd["visual.head.proj.weight"].clone()
    beyond_f16["visual.head.proj.weight"].view(-1)[3] = 1e5
    torch.save(beyond_f16, os.path.join(out, "tiny_beyond_f16.pt"))
    # A config with an absurd vocab_size, and a checkpoint whose word embedding fits it through a zero stride
    # (one row repeated 10^9 times: 128 bytes stored, 128 GB declared).
    huge = json.loads(json.dumps(TINY_CONFIG))
    huge["model_cfg"]["text_cfg"]["hf_model_config"]["vocab_size"] = 10 ** 9
    with open(os.path.join(out, "huge_vocab_config.json"), "w") as f:
        json.dump(huge, f, indent=2)
    wide = collections.OrderedDict(sd)
    wide["text.transformer.embeddings.word_embeddings.weight"] = sd["text.transformer.embeddings.word_embeddings.weight"][:1].expand(10 ** 9, d["tw"])
    torch.save(wide, os.path.join(out, "tiny_huge_vocab.pt"))
    write_hostile(out, tiny)


def write_full(out):
    d = FULL_DIMS
    sd = random_state_dict(d, seed=1)
    path = os.path.join(out, "full.pt")
    torch.save(sd, path)
    n = sum(v.numel() for k, v in sd.items() if v.is_floating_point())
    print("wrote %s: %d float parameters, %d bytes" % (path, n, os.path.getsize(path)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--full", action="store_true", help="write full-size random BiomedCLIP weights (784 MB)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    write_full(args.out) if args.full else write_tiny(args.out)


if __name__ == "__main__":
    sys.exit(main())
