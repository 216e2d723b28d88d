"""`ganinv sample`: a grid of samples from any generator source, and optionally their latents.

ganinv sample --generator hub:owner/name -n 64 --out grid.png --latents-out samples.safetensors
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Sequence

import click
import torch
from safetensors.torch import save_file

from ganinv.atomic import atomic_path
from ganinv.augment import AugmentConfig
from ganinv.augment import perturb as perturbed
from ganinv.cli.options import (
    check_suffix,
    device_option,
    generator_options,
    out_option,
    parse_key_values,
    resolve_device,
    seed_option,
)
from ganinv.config_checks import LimitedIntRange
from ganinv.data.array_files import SAMPLES_FORMAT
from ganinv.errors import SpecMismatchError
from ganinv.images import save_grid
from ganinv.outputs import check_image_count, check_writable
from ganinv.sources import load_generator
from ganinv.status import said_if_slow


@click.command("sample")
@generator_options
@click.option("-n", "--num", "n", type=LimitedIntRange(min=1), default=64, show_default=True, help="Number of samples.")
@out_option("PNG file to write: the grid of samples.", folder=False)
@click.option("--nrow", type=LimitedIntRange(min=1), default=None, help="Images per grid row (default: sqrt(n)).")
@click.option(
    "--latents-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the latents (z, c, d) and images (in [-1, 1]) as safetensors.",
)
@click.option(
    "--perturb",
    is_flag=True,
    default=False,
    help="Perturb every sample as `fit --augment` does (warp, stroke width, contrast, noise): off-manifold "
    "test images whose latents are known.",
)
@seed_option
@device_option
def sample(
    generator: str,
    arch: Optional[str],
    options: tuple[str, ...],
    trust_remote_code: bool,
    n: int,
    out: str,
    nrow: Optional[int],
    latents_out: Optional[str],
    perturb: bool,
    seed: int,
    device: Optional[str],
) -> None:
    """Draw N samples (standard-normal latents) and save them as a grid."""
    check_writable(out, folder=False)
    if latents_out:
        check_writable(latents_out, folder=False, option="--latents-out")
    check_suffix(out, ".png", "--out", "is written as a PNG grid", "; to keep the samples as data, add --latents-out")
    if latents_out:
        check_suffix(latents_out, ".safetensors", "--latents-out", "is written as safetensors")
    device = resolve_device(device)
    g = load_generator(
        generator, arch=arch, options=parse_key_values(options), device=device, trust_remote_code=trust_remote_code
    )
    check_image_count(n, g.spec.image_shape, "-n")
    rng = torch.Generator(device=device).manual_seed(seed)
    with said_if_slow(f"drawing {n} samples"):  # 100000 samples took two silent minutes (an outside audit, 51b)
        try:
            latents, images = g.sample(n, generator=rng)
        except MemoryError:  # said in the command's words: the library's names G.decode (a review, 52a)
            raise MemoryError(f"{n} samples of shape {g.spec.image_shape} do not fit in memory at once") from None
    if images.shape[0] != n:  # (N, C, H, W)
        raise SpecMismatchError(
            f"{generator} returned {images.shape[0]} images for a batch of {n} latents; "
            "it must return one image per latent (a program that ignores the batch size)"
        )
    broken = int((~torch.isfinite(images)).flatten(1).any(dim=1).sum())
    if broken:
        raise SpecMismatchError(
            f"{generator} made NaN or infinite images for {broken} of {n} latents drawn from its prior; check the "
            "generator (its weights, or its code for the latents it cannot take)"
        )
    if perturb:
        images = perturbed(images, AugmentConfig(probability=1.0), generator=rng)
    shown = grid_count(n, images.shape[-2:])
    columns = nrow or max(1, round(shown**0.5))  # a square grid unless --nrow says
    if shown < n:  # a grid of 100000 was a 90-Mpixel PNG past PIL's decompression-bomb limit (an outside audit, 51b)
        warnings.warn(
            f"the grid shows the first {shown} of the {n} samples ("
            + (
                f"a grid holds at most {GRID_IMAGES} pictures"
                if shown == GRID_IMAGES
                else "a larger one is more pixels than image viewers and PIL open"
            )
            + ")"
            + ("; all of them are in --latents-out" if latents_out else "; keep them all with --latents-out"),
            stacklevel=1,
        )
    if not latents_out:
        save_grid(images[:shown], out, nrow=columns)
        click.echo(_wrote_grid(out, n, perturb, images, generator, shown))
        return
    tensors = {name: t.detach().contiguous().cpu() for name, t in latents.parts().items()}
    tensors["images"] = images.contiguous().cpu()
    metadata = {
        "format": SAMPLES_FORMAT,  # how `invert` and the others know the file as ganinv's
        "source": generator,
        "seed": str(seed),
        "spec": g.spec.to_json(),
        "perturbed": str(perturb),
    }
    Path(latents_out).parent.mkdir(parents=True, exist_ok=True)
    # the grid and the latents are a pair: the old latents go before the new grid takes the old one's place, so a
    # stop between the two leaves a grid alone, never a new grid beside the old samples (an outside audit)
    with atomic_path(latents_out) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        Path(latents_out).unlink(missing_ok=True)
        save_grid(images[:shown], out, nrow=columns)
    click.echo(_wrote_grid(out, n, perturb, images, generator, shown))
    click.echo(f"wrote {latents_out}: {', '.join(f'{k} {tuple(v.shape)}' for k, v in tensors.items())}")


# the most pixels a grid holds: PIL refuses to open images past 179 Mpx and warns past 89.5 Mpx
GRID_PIXELS = 40_000_000
GRID_IMAGES = 1024  # 32 x 32 pictures: more is no picture a person looks at


def grid_count(n: int, side: Sequence[int]) -> int:
    """How many of `n` samples of `side` (H, W) the grid shows."""
    return max(1, min(n, GRID_IMAGES, GRID_PIXELS // (int(side[0]) * int(side[1]))))


def _wrote_grid(out: str, n: int, perturb: bool, images: torch.Tensor, generator: str, shown: int) -> str:
    kind = "perturbed samples" if perturb else "samples"
    grid = f" (the grid shows the first {shown})" if shown < n else ""
    return f"wrote {out}: {n} {kind} of shape {tuple(images.shape[1:])} from {generator}{grid}"
