#!/usr/bin/python3
"""float32 <-> float16 bit patterns exactly as PyTorch computes them, for test/f16-torch.test.ts.

  /usr/bin/python3 scripts/make_f16_fixture.py --out test/fixtures/f16/torch-half.json

`convert --dtype f16` must round like `torch.tensor(x, dtype=torch.float32).half()` and the loader must widen
like `.float()`, bit for bit. The test checks that in pure TypeScript against what this script writes:

- `narrow`: named groups of "f32bits:f16bits" pairs (hex): signed zeros, the largest f16 and the overflow
  boundary, infinities, NaNs (torch returns the canonical 0x7e00 with the sign for every NaN), f32 subnormals,
  f16 subnormals, ties to even and their neighbours at every exponent where f16 rounds (normal and subnormal),
  and seeded random values across f16's range.
- `narrowSweep`: every 4099th float32 bit pattern (0, 4099, 8198, ... below 2^32; about a million values of
  every kind), as the sha256 of torch's f16 bits (little-endian uint16).
- `widen`: all 65,536 float16 bit patterns widened by `.float()`, as the sha256 of the f32 bits (little-endian
  uint32), NaN payloads included.

Only torch computes an expected value here; how the inputs are chosen does not matter for correctness.
"""
import argparse
import hashlib
import json
import os

import numpy as np
import torch

SWEEP_STRIDE = 4099


def torch_half(bits):
    """float32 bit patterns -> torch's float16 bit patterns (both as numpy unsigned arrays)."""
    f32 = torch.from_numpy(np.asarray(bits, dtype="<u4").view(np.float32).copy())
    return f32.half().view(torch.int16).numpy().view(np.uint16)


def f32_bits(values):
    return [int(b) for b in np.asarray(values, dtype=np.float32).view(np.uint32)]


def with_signs(bits):
    return [b for x in bits for b in (x, x | 0x80000000)]


def tie_cases():
    """Ties and their neighbours at every f32 exponent whose f16 rounding discards bits (0x66..0x8e)."""
    out = []
    for exp in range(0x66, 0x8F):
        # Bits of the 24-bit significand that f16 drops: 13 for f16 normals, more for subnormals.
        shift = 13 if exp >= 0x71 else 126 - exp
        half = 1 << (shift - 1)
        for kept in (0b100, 0b101):  # an even and an odd kept part: ties go down and up
            sig = (0x800000 | (kept << shift)) & 0xFFFFFF
            base = (exp << 23) | (sig & 0x7FFFFF)
            for delta in (-1, 0, 1):  # just below the tie, the tie, just above it
                out.append(base + half + delta)
    return with_signs(out)


def groups():
    rng = np.random.default_rng(0)
    f16_subnormals = [k * 2.0**-24 for k in (1, 2, 3, 511, 512, 1023)]
    return {
        "signed zeros": [0x00000000, 0x80000000],
        "ordinary values": with_signs(f32_bits([1.0, 2.0, 0.5, 0.1, 1 / 3, 3.14159265, 2.718281828, 1000.5, 0.02, 1e-3])),
        "largest f16 and the overflow boundary": with_signs(
            f32_bits([65504.0, 65505.0, 65519.0, 65520.0, 65536.0, 1e10])
            + [0x477FEFFF, 0x477FF000, 0x477FF001, 0x7F7FFFFF]  # 65519.996 (-> 65504), 65520 and one ulp up (-> inf), f32 max
        ),
        "infinities": [0x7F800000, 0xFF800000],
        "NaNs (quiet, signalling, payloads)": [0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0x7FFFFFFF, 0x7F802000, 0xFF812345],
        "float32 subnormals": with_signs([0x00000001, 0x00400000, 0x007FFFFF]),
        "float16 subnormals and their boundaries": with_signs(
            f32_bits(f16_subnormals + [2.0**-25, 2.0**-26, 3 * 2.0**-26, 2.0**-14, 2.0**-14 - 2.0**-25, 2.0**-14 - 2.0**-24])
            + [0x33000001, 0x32FFFFFF]  # 2^-25 plus and minus one f32 ulp
        ),
        "ties to even and neighbours, every exponent": tie_cases(),
        "random values across f16's range": [
            int(b) for b in rng.integers(0x33000000, 0x47800000, size=200, dtype=np.uint64) | (rng.integers(0, 2, size=200, dtype=np.uint64) << 31)
        ],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    narrow = []
    for label, bits in groups().items():
        half = torch_half(bits)
        narrow.append({"label": label, "pairs": [f"{b:08x}:{int(h):04x}" for b, h in zip(bits, half)]})
    sweep = np.arange(0, 2**32, SWEEP_STRIDE, dtype=np.uint64).astype("<u4")
    widened = torch.from_numpy(np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).copy()).view(torch.float16).float()
    fixture = {
        "made_by": f"scripts/make_f16_fixture.py with torch {torch.__version__}",
        "narrow": narrow,
        "narrowSweep": {"stride": SWEEP_STRIDE, "count": int(sweep.size), "sha256": hashlib.sha256(torch_half(sweep).astype("<u2").tobytes()).hexdigest()},
        "widen": {"count": 65536, "sha256": hashlib.sha256(widened.numpy().view(np.uint32).astype("<u4").tobytes()).hexdigest()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(fixture, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
