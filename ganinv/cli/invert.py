"""`ganinv invert`: latents and reconstructions of images through a fitted inverter; see ganinv.invert."""

from __future__ import annotations

import os
from pathlib import Path

import click
import torch

from ganinv.atomic import json_text, parse_json, read_text, remove_stale_temporaries
from ganinv.cli.options import (
    artifact_generator_options,
    device_option,
    echo_result,
    image_options,
    json_option,
    out_option,
    resolve_device,
    warn,
    warn_ignored,
)
from ganinv.config_checks import FiniteFloatRange, LimitedIntRange
from ganinv.errors import GaninvError
from ganinv.invert import REFINE_BASES, REFINE_BASIS, REFINE_CLASSES, REFINE_LR, REFINE_LR_MAX
from ganinv.outputs import check_not_inside, check_result_folder, check_writable


@click.command("invert")
@click.option(
    "--inverter",
    "inverter_source",
    required=True,
    help="A fit's run folder, an inverter artifact folder, a Hub repo id (hub:owner/name), or builtin:NAME.",
)
@artifact_generator_options
@image_options(required=True)
@out_option("Folder to write: latents, reconstructions, grid.png and metrics.json.", folder=True)
@click.option(
    "--refine",
    "refine_steps",
    type=LimitedIntRange(min=0),
    default=0,
    show_default=True,
    help="Steps of per-image latent optimisation after the encoder (hybrid inversion).",
)
@click.option(
    "--refine-lr",
    type=FiniteFloatRange(min=0, max=REFINE_LR_MAX, min_open=True),  # its help had said "x<=None" (an outside audit)
    default=REFINE_LR,
    show_default=True,
    help="Adam learning rate of --refine.",
)
@click.option(
    "--refine-basis",
    type=click.Choice(REFINE_BASES),
    default=REFINE_BASIS,
    show_default=True,
    help="Coordinates of --refine's steps: the generator's own latent directions (those that barely move the image "
    "lengthened), or z's coordinates (plain Adam).",
)
@click.option(
    "--refine-class",
    type=click.Choice(REFINE_CLASSES),
    default="soft",
    show_default=True,
    help="For a generator with a categorical code: soft lets --refine move it freely, a mix of the classes' inputs "
    "(the least error, but no sample of the generator has one); fixed holds each image at the encoder's class and "
    "refines the rest.",
)
@click.option(
    "--start",
    type=click.Choice(["encoder", "zero"]),
    default="encoder",
    show_default=True,
    help="Where --refine starts: the encoder's answer, or z = 0 (optimisation-only inversion).",
)
@click.option(
    "--iterations",
    type=LimitedIntRange(min=0),
    default=None,
    help="Refinement passes of an iterative encoder [default: as many as it was fitted with; 0: the single pass].",
)
@click.option("--batch-size", type=LimitedIntRange(min=1), default=256, show_default=True, help="Images per batch.")
@device_option
@json_option
def invert(
    inverter_source,
    images,
    root,
    split,
    limit,
    input_range,
    out,
    refine_steps,
    refine_lr,
    refine_basis,
    refine_class,
    start,
    iterations,
    batch_size,
    device,
    as_json,
    generator,
    trust_remote_code,
) -> None:
    """Invert IMAGES (one folder of images, one image file, an .npz/.npy/.safetensors file, or mnist/fashion-mnist
    with --root); prints the reconstruction errors."""
    from safetensors.torch import save_file

    from ganinv.atomic import atomic_dir, write_json
    from ganinv.data import described_source, fit_to_shape, load_images
    from ganinv.images import save_side_by_side
    from ganinv.invert import check_refine_lr
    from ganinv.invert import invert as run_invert
    from ganinv.inverter import Inverter

    if start == "zero" and refine_steps == 0:
        raise click.BadParameter("--start zero optimises from z = 0 and needs --refine N", param_hint="--start")
    given = click.get_current_context().get_parameter_source
    if refine_steps == 0 and given("refine_class") is click.core.ParameterSource.COMMANDLINE:  # did nothing (50a)
        raise click.BadParameter(
            "--refine-class says how --refine moves a class, and needs --refine N", param_hint="--refine-class"
        )
    if refine_steps == 0:
        warn_ignored("refine_lr", "it is the rate of --refine N's steps, and none are asked")
        warn_ignored("refine_basis", "it says how --refine N steps, and none are asked")
    check_refine_lr(refine_lr)
    check_writable(out, folder=True)
    if Path(out).resolve() in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
        raise GaninvError(
            f"--out {out} is the folder you are in (or holds it), and invert writes its --out as one folder that "
            "takes the old one's place; give a folder of its own, e.g. --out inverted"
        )
    if os.path.ismount(Path(out).resolve()):  # a volume cannot be renamed aside: the swap failed with EBUSY
        raise GaninvError(
            f"--out {out} is a mount point, and invert writes its --out as one folder that takes the old one's "
            "place; give a folder inside it, e.g. --out " + str(Path(out) / "inverted")
        )
    # what a killed save of an older ganinv left inside the folder is no foreign file (an outside audit)
    remove_stale_temporaries(out)
    check_result_folder(out, "invert", INVERT_OUTPUTS, holds_invert_metrics)
    check_not_inside(out, images, "IMAGES")
    inverter = Inverter.load(
        inverter_source, device=resolve_device(device), generator=generator, trust_remote_code=trust_remote_code
    )
    if iterations and inverter.refiner is None:  # asked for passes it cannot make: say so, do not run one pass
        raise GaninvError(
            f"{inverter_source} is a single-pass inverter (fitted with --iterations 0), so it cannot make "
            f"{iterations} refinement passes; drop --iterations, or fit one with `ganinv fit --iterations 2`"
        )
    size = tuple(inverter.spec.image_shape[1:])  # image files of mixed sizes go straight to the generator's
    data = load_images(images, root=root, split=split, limit=limit, input_range=input_range, size=size)
    if len(data) == 0:
        raise GaninvError(f"{images} holds no images; give at least one image to invert")
    x, converted = fit_to_shape(data.images, inverter.spec.image_shape)
    if converted:
        warn(converted)
    result = run_invert(
        inverter,
        x,
        refine_steps=refine_steps,
        refine_lr=refine_lr,
        refine_basis=refine_basis,
        refine_class=refine_class,
        start=start,
        batch_size=batch_size,
        iterations=iterations,
        input_range="model",  # read and converted by load_images
        _cli_words=True,  # its warnings name the flags
    )

    out = Path(out)
    tensors = {name: t.contiguous() for name, t in result.latents.parts().items()}
    rows = {"names": json_text(list(data.names))} if data.names else {}  # row i is the latent of file names[i]
    recon = {"images": result.reconstructions.contiguous()}
    if data.labels is not None:
        recon["labels"] = data.labels.contiguous()
    # label i is class folder classes[i]: folders 1, 10, 2 sort as strings, so label 1 is "10" (an outside audit)
    named = {"classes": json_text(list(data.classes))} if data.labels is not None and data.classes else {}
    columns = [x[:32], result.encoder_reconstructions[:32]]
    if refine_steps > 0:
        columns.append(result.reconstructions[:32])
    changed = "; ".join([*data.notes, *([converted] if converted else [])]) or None  # as read, then as fitted
    metrics = {
        **result.metrics,
        "images_from": described_source(images, split),
        "images_converted": changed,  # the errors are on the converted images
        "images_notes": "; ".join(data.source_notes) or None,  # what else reading them said: folders skipped, blanks
    }
    # the four files are one result: written into a temporary folder that takes --out's place whole, so a stop
    # between them leaves the earlier result or none, never a mix of two runs or a folder a retry refuses (an
    # outside audit); a link to a folder is written through, as before
    # resolved: a link to a folder is written through, and `inv/../inv` is no path that the swap itself breaks
    with atomic_dir(out.resolve(), replaces=frozenset(INVERT_OUTPUTS)) as tmp:
        save_file(tensors, str(tmp / "latents.safetensors"), metadata=rows)
        # the file's rows named as the latents' are: alone, it could not be joined back to the inputs (audit 36b)
        # on ganinv's [-1, 1] scale whatever the images' own range, and said so in the file (an outside audit)
        scale = {"range": "-1,1"}
        save_file(recon, str(tmp / "reconstructions.safetensors"), metadata={**rows, **named, **scale})
        save_side_by_side(columns, tmp / "grid.png")
        # what made them, in the file only: two inverts to one --out left no way to tell whose result stayed (an audit)
        made_by = {"inverter": inverter_source, "generator": inverter.generator.source, "images": images}
        # where the seconds_per_image were measured: the device and the CPU threads (an outside audit, 51b)
        made_by |= {"device": str(inverter.device), "torch_threads": torch.get_num_threads()}
        write_json(tmp / "metrics.json", {**metrics, "made_by": made_by})
    echo_result({"out": str(out), **metrics}, as_json)


INVERT_OUTPUTS = {"latents.safetensors", "reconstructions.safetensors", "grid.png", "metrics.json"}


def holds_invert_metrics(folder: Path) -> bool:
    """Whether `folder`'s metrics.json is one `invert` wrote (so the folder is an earlier invert's output)."""
    try:
        metrics = parse_json(read_text(folder / "metrics.json"))
    except (OSError, ValueError):
        return False
    return isinstance(metrics, dict) and {"encoder", "mean_image_baseline"} <= set(metrics)
