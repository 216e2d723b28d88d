"""The learning rate and basis of `invert --refine`: Adam on each image's own squared error, from the encoder's answer
or from z = 0, at several rates, step counts and bases (the generator's scaled directions, or z's own coordinates), on
real images (JSON on stdout and in OUT).

Choose on a validation split (MNIST's first N *training* digits, which ganinv never trains on) and report the chosen
rates on the test split:
    OMP_NUM_THREADS=1 python benchmarks/refine_lr_study.py --inverter RUN/inverter --root data/mnist \
        --split train --runs encoder/25,encoder/100,zero/100,zero/500 --lrs 0.1,0.2,0.3,0.5 \
        --bases generator,latent --out val.json
    OMP_NUM_THREADS=1 python benchmarks/refine_lr_study.py ... --split test --runs zero/500 --lrs 0.2 --out test.json

Each run is `ganinv.invert.refine` (what `invert --refine STEPS --refine-lr LR --refine-basis BASIS [--start zero]`
does), timed.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ganinv.data import load_images
from ganinv.evaluation import encode_and_reconstruct, reconstruction_metrics
from ganinv.invert import decode_all, refine, zero_latents
from ganinv.inverter import Inverter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inverter", required=True, help="An inverter folder (its generator bundled or named).")
    parser.add_argument("--data", default="mnist", choices=("mnist", "fashion-mnist"), help="The dataset.")
    parser.add_argument("--root", required=True, help="Folder with the dataset's IDX files.")
    parser.add_argument("--split", default="train", choices=("train", "test"), help="train: validation digits.")
    parser.add_argument("--n", type=int, default=1000, help="The first N digits of the split.")
    parser.add_argument("--runs", default="encoder/25,encoder/100,zero/100,zero/500", help="START/STEPS, ...")
    parser.add_argument("--lrs", default="0.1,0.2,0.3,0.5", help="Adam learning rates to try.")
    parser.add_argument("--bases", default="generator", help="refine's bases to try: generator, latent.")
    parser.add_argument("--out", required=True, help="JSON file, rewritten after each run.")
    args = parser.parse_args()

    inverter = Inverter.load(args.inverter)
    generator = inverter.generator
    images = load_images(args.data, root=args.root, split=args.split, limit=args.n).images  # (N, 1, 28, 28)
    posterior, encoded = encode_and_reconstruct(inverter, images)
    starts = {"encoder": posterior.mean_latents(), "zero": zero_latents(generator, args.n)}
    results: dict[str, object] = {
        "data": args.data,
        "split": args.split,
        "n": args.n,
        "inverter": args.inverter,
        "threads": torch.get_num_threads(),
        "encoder": reconstruction_metrics(images, encoded)["sse_per_image"],
    }
    for run in args.runs.split(","):
        start, steps = run.split("/")
        for basis in args.bases.split(","):
            for lr in map(float, args.lrs.split(",")):
                clock = time.perf_counter()
                latents = refine(generator, images, starts[start], int(steps), lr, basis=basis)
                seconds = (time.perf_counter() - clock) / args.n
                sse = reconstruction_metrics(images, decode_all(generator, latents))["sse_per_image"]
                key = f"{start}/{steps}/{basis}/lr{lr:g}"
                results[key] = {"sse_per_image": round(sse, 3), "seconds_per_image": seconds}
                print(key, round(sse, 3), flush=True)
                with open(args.out, "w") as fh:
                    json.dump(results, fh, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
