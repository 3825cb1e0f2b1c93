"""Golden inputs: seeded ones (two images, three texts) or a user's safetensors file of inputs."""
import torch

from safetensors_io import load_file

PAD, CLS, SEP = 0, 2, 3
FIRST_ORDINARY_ID = 5  # ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK] in the BiomedBERT vocab
TEXT_LENGTHS = (5, 9, 17)  # tokens including [CLS] and [SEP]; three lengths so padding is exercised
N_IMAGES = 2


def seeded_pixels(image_size, mean, std, g):
    """Random 8-bit RGB images, normalized exactly as preprocessing would: (v/255 - mean) / std.
    Their range (about -1.8 to 2.1) and granularity are those of real normalized images."""
    raw = torch.randint(0, 256, (N_IMAGES, 3, image_size, image_size), generator=g).to(torch.float32)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (raw / 255.0 - m) / s  # [B, 3, S, S]


def seeded_ids(vocab_size, g, pad_to=None):
    """[CLS] ids... [SEP] then [PAD]s, ids drawn from [5, vocab_size), padded to the longest or to pad_to."""
    width = max(TEXT_LENGTHS) if pad_to is None else pad_to
    if width < max(TEXT_LENGTHS):
        raise ValueError(f"--pad-to {pad_to} is shorter than the longest seeded text ({max(TEXT_LENGTHS)})")
    ids = torch.full((len(TEXT_LENGTHS), width), PAD, dtype=torch.int64)
    for row, n in enumerate(TEXT_LENGTHS):
        ids[row, 0] = CLS
        ids[row, 1:n - 1] = torch.randint(FIRST_ORDINARY_ID, vocab_size, (n - 2,), generator=g)
        ids[row, n - 1] = SEP
    return ids  # [N, T]


def pad_ids(ids, pad_to):
    """Right-pads [N, T] ids with [PAD] to pad_to columns (never truncates)."""
    if pad_to is None or pad_to == ids.shape[1]:
        return ids
    if pad_to < ids.shape[1]:
        raise ValueError(f"--pad-to {pad_to} is shorter than the given input_ids ({ids.shape[1]} columns)")
    out = torch.full((ids.shape[0], pad_to), PAD, dtype=torch.int64)
    out[:, : ids.shape[1]] = ids
    return out


def load_inputs(path, cfg):
    """pixel_values [B,3,S,S] and/or input_ids [N,T] from a safetensors file; a missing key skips that tower."""
    tensors, _ = load_file(path)
    pixels = tensors.get("pixel_values")
    ids = tensors.get("input_ids")
    if pixels is None and ids is None:
        raise ValueError(f"{path}: has neither pixel_values nor input_ids")
    if pixels is not None:
        S = cfg.vision.image_size
        if pixels.dim() != 4 or list(pixels.shape[1:]) != [3, S, S]:
            raise ValueError(f"{path}: pixel_values shape {list(pixels.shape)}, expected [B,3,{S},{S}]")
        pixels = pixels.to(torch.float32).clone()
    if ids is not None:
        if ids.dim() != 2:
            raise ValueError(f"{path}: input_ids shape {list(ids.shape)}, expected [N,T]")
        ids = ids.to(torch.int64).clone()
        if int(ids.max()) >= cfg.text.vocab_size or int(ids.min()) < 0:
            raise ValueError(f"{path}: input_ids outside [0, {cfg.text.vocab_size})")
    return pixels, ids
