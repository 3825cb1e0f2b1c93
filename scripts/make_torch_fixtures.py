#!/usr/bin/python3
"""Writes PyTorch checkpoints for the checkpoint-reader and convert tests, using Debian's torch 1.13.

Run with /usr/bin/python3 (the interpreter that has torch):

    /usr/bin/python3 scripts/make_torch_fixtures.py --out DIR          # tiny checkpoints + hostile files
    /usr/bin/python3 scripts/make_torch_fixtures.py --full --out DIR   # full-size random BiomedCLIP (784 MB)

Every checkpoint holds the open_clip key layout of the model config (tiny: the test config, embed_dim 16,
width 32, 2 layers per tower; --full: BiomedCLIP's sizes), written beside them as open_clip_config.json.
The layout (keys, shapes, order) is the TypeScript model's own, read from `biomedclip summary --json`
(field "tensors"), so the repository must be built (`npm run build`) and node found (NODE, else the PATH).
Next to them, `expected.safetensors` holds the same tensors as contiguous float32, written by hand with
struct + json (no safetensors package needed), to compare against.

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
import shutil
import struct
import subprocess
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

def full_config():
    """BiomedCLIP's own sizes (ViT-B/16 at 224, PubMedBERT base), in the same explicit form as the tiny one."""
    cfg = json.loads(json.dumps(TINY_CONFIG))
    m = cfg["model_cfg"]
    m["embed_dim"] = 512
    m["vision_cfg"].update(image_size=224, width=768, layers=12, head_width=64)
    m["text_cfg"]["hf_model_config"].update(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                            intermediate_size=3072, vocab_size=30522)
    return cfg


def model_tensors(config_path):
    """The open_clip state-dict layout (keys, shapes, order; Linear weights [out, in]) as the TypeScript model
    declares it: `biomedclip summary --config FILE --json`, field "tensors". Taken from the model rather than
    kept here, so the fixtures cannot drift from the keys the reader and convert check against. Needs a
    build (`npm run build`) and node (the NODE environment variable, else `node` on the PATH)."""
    node = os.environ.get("NODE") or shutil.which("node")
    cli = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "biomedclip.js")
    if node is None:
        sys.exit("make_torch_fixtures: node not found; set NODE or put node on the PATH")
    try:
        r = subprocess.run([node, cli, "summary", "--config", config_path, "--json", "--quiet"],
                           capture_output=True, text=True)
    except OSError as e:
        sys.exit("make_torch_fixtures: cannot run node %s (%s); set NODE to a node binary" % (node, e.strerror))
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no message"])[-1]
        sys.exit("make_torch_fixtures: `biomedclip summary --json` failed (%s); run `npm run build` first" % last)
    return collections.OrderedDict((t["name"], t["shape"]) for t in json.loads(r.stdout)["tensors"])


def random_state_dict(tensors, seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    for k, shape in tensors.items():
        sd[k] = torch.randn(shape, generator=g) * 0.02
    sd["logit_scale"] = torch.tensor(4.6052)
    # The real file carries this int64 buffer (unused by the forward pass); convert drops it.
    max_positions = tensors["text.transformer.embeddings.position_embeddings.weight"][0]
    sd["text.transformer.embeddings.position_ids"] = torch.arange(max_positions).unsqueeze(0)
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
    for q in [k for k in sd if k.endswith(".attention.self.query.weight")]:
        l = q[: -len("query.weight")]
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


def write_config(out, cfg):
    path = os.path.join(out, "open_clip_config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def write_tiny(out):
    tensors = model_tensors(write_config(out, TINY_CONFIG))
    vocab, width = tensors["text.transformer.embeddings.word_embeddings.weight"]
    sd = random_state_dict(tensors, seed=0)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]"] + ["[unused%d]" % i for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                          + ["tok%d" % i for i in range(vocab - 104)]) + "\n")
    write_expected(os.path.join(out, "expected.safetensors"), sd)
    tiny = os.path.join(out, "tiny.pt")
    torch.save(sd, tiny)
    torch.save(collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()),
               os.path.join(out, "tiny_f16.pt"))
    torch.save(views_state_dict(sd), os.path.join(out, "tiny_views.pt"))
    prefixed = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    prefixed["module.text.transformer.pooler.dense.weight"] = torch.randn(width, width)
    prefixed["module.text.transformer.pooler.dense.bias"] = torch.randn(width)
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
    embed, vision_width = tensors["visual.head.proj.weight"]
    wrong["visual.head.proj.weight"] = torch.zeros(embed + 1, vision_width)
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
    wide["text.transformer.embeddings.word_embeddings.weight"] = sd["text.transformer.embeddings.word_embeddings.weight"][:1].expand(10 ** 9, width)
    torch.save(wide, os.path.join(out, "tiny_huge_vocab.pt"))
    write_hostile(out, tiny)


def write_full(out):
    sd = random_state_dict(model_tensors(write_config(out, full_config())), seed=1)
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
