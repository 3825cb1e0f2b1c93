#!/usr/bin/python3
"""Times the PyTorch reference the way `npm run bench` times the TS model; prints one JSON object.

  /usr/bin/python3 scripts/reference/make_reference.py --size full --seed 0 --out /tmp/ref-full
  /usr/bin/python3 scripts/reference/bench_reference.py --model /tmp/ref-full --threads 2

Measures: model load time from model.safetensors (config + file read + tensors ready), image embeddings/s
at each --image-batches size (default 1 and 8), text embeddings/s for each --text-cases entry TOKENSxBATCH
(default 10-token labels in batches of 32, 256-token texts in batches of 8), and peak RSS of the process
(Python + torch + model). Each case runs once untimed (warm-up: first-call allocations
and thread-pool start-up are not what a steady-state rate should include), then repeats until it has run
both --min-iters times and --min-seconds; the rate is embeddings / mean wall time per batch (the fastest
batch is reported too, as ms_per_batch_min).
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inputs import CLS, FIRST_ORDINARY_ID, SEP  # noqa: E402
from model import load_model_dir  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model directory made by make_reference.py (or a converter)")
    p.add_argument("--threads", type=int, required=True, help="torch intra-op threads (use the TS bench's)")
    p.add_argument("--image-batches", default="1,8", help="comma-separated image batch sizes (default 1,8)")
    p.add_argument("--text-cases", default="10x32,256x8",
                   help="comma-separated TOKENSxBATCH text cases (default 10x32,256x8)")
    p.add_argument("--min-iters", type=int, default=2, help="timed batches per case at least (default 2)")
    p.add_argument("--min-seconds", type=float, default=2.0, help="timed seconds per case at least (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seeds the random inputs")
    return p.parse_args(argv)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def text_ids(batch, tokens, vocab_size, g):
    """[CLS] random ordinary ids [SEP], no padding: every position is a real token, as in a full batch."""
    ids = torch.randint(FIRST_ORDINARY_ID, vocab_size, (batch, tokens), generator=g)
    ids[:, 0], ids[:, -1] = CLS, SEP
    return ids


def time_case(fn, batch, args):
    with torch.no_grad():
        fn()  # warm-up
        times = []
        while len(times) < args.min_iters or sum(times) < args.min_seconds:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    # On a shared machine the fastest batch is the least disturbed one; report it beside the mean.
    return {"batch": batch, "iterations": len(times), "ms_per_batch": round(mean * 1000, 2),
            "ms_per_batch_min": round(min(times) * 1000, 2), "embeddings_per_s": round(batch / mean, 3)}


def run_cases(model, args):
    g = torch.Generator().manual_seed(args.seed)
    S, V = model.cfg.vision.image_size, model.cfg.text.vocab_size
    cases = []
    for batch in (int(b) for b in args.image_batches.split(",")):
        x = torch.randn(batch, 3, S, S, generator=g)
        cases.append({"name": f"image batch {batch}", "tower": "image", "tokens": None,
                      **time_case(lambda: model.encode_image(x), batch, args)})
    for case in args.text_cases.split(","):
        tokens, batch = (int(x) for x in case.split("x"))
        ids = text_ids(batch, tokens, V, g)
        cases.append({"name": f"text {tokens} tokens x {batch}", "tower": "text", "tokens": tokens,
                      **time_case(lambda: model.encode_text(ids), batch, args)})
    return cases


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(os.path.join(args.model, "model.safetensors")):
        sys.exit(f"bench_reference: error: {args.model}/model.safetensors not found; make one with "
                 f"make_reference.py --size full --seed 0 --out {args.model}")
    torch.set_num_threads(args.threads)
    rss_before = peak_rss_bytes()
    t0 = time.perf_counter()
    model = load_model_dir(args.model)
    load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_bytes()
    cases = run_cases(model, args)
    print(json.dumps({
        "backend": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": os.path.abspath(args.model),
        "load_s": round(load_s, 3),
        "peak_rss_bytes_before_load": rss_before,
        "peak_rss_bytes_after_load": rss_loaded,
        "peak_rss_bytes": peak_rss_bytes(),
        "cases": cases,
    }, indent=2))


if __name__ == "__main__":
    main()
