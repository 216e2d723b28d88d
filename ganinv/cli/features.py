"""`ganinv features`, `ganinv probe`, `ganinv cluster-accuracy`: docs/algorithms.md §4.

ganinv features --inverter runs/fit mnist --root DATA --split train --out train.safetensors
ganinv features --raw-pixels mnist --root DATA --split test --out test-pixels.safetensors
ganinv probe --train train.safetensors --test test.safetensors --knn-k 5 --json
ganinv cluster-accuracy --inverter runs/fit mnist --root DATA
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Optional

import click
import numpy as np

from ganinv import probes
from ganinv.cli.options import (
    artifact_generator_options,
    check_suffix,
    deprecated_alias,
    device_option,
    echo_result,
    image_options,
    json_option,
    out_option,
    quiet_option,
    resolve_device,
    seed_option,
    warn,
    warn_ignored,
)
from ganinv.config_checks import LimitedIntRange
from ganinv.data import DATASET_DIRS, ImageSet, fit_to_shape, load_images
from ganinv.errors import DataError, GaninvError
from ganinv.features import (
    FEATURE_SUFFIXES,
    FeatureSet,
    extraction_remedy,
    inverter_features,
    labels_in_train_terms,
    load_features,
    model_sha256,
    pixel_features,
    rows_shared_with_train,
    save_features,
)
from ganinv.inverter import Inverter
from ganinv.outputs import check_not_an_input, check_writable


def encoder_options(func):
    func = artifact_generator_options(func)
    func = device_option(func)
    func = click.option(
        "--batch-size", type=LimitedIntRange(min=1), default=256, show_default=True, help="Images encoded per batch."
    )(func)
    return click.option(
        "--inverter",
        default=None,
        help="Fitted inverter: a run folder, an artifact folder, a Hub repo id, or builtin:NAME.",
    )(func)


def read_images(
    images: str,
    root: Optional[str],
    split: str,
    limit: Optional[int],
    input_range: Optional[tuple[float, float]] = None,
    quiet: bool = False,
    size: Optional[tuple[int, ...]] = None,
) -> ImageSet:
    image_set = load_images(images, root=root, split=split, limit=limit, input_range=input_range, size=size)
    if not quiet:
        click.echo(f"read {len(image_set)} images of shape {tuple(image_set.images.shape[1:])} from {images}", err=True)
    return image_set


def encode(inverter: Inverter, image_set: ImageSet, batch_size: int, progress: bool = True) -> FeatureSet:
    """Convert the images to the generator's shape (warning on stderr), then take the encoder means."""
    x, warning = fit_to_shape(image_set.images, inverter.spec.image_shape)
    if warning:
        warn(warning)
    images = dataclasses.replace(image_set, images=x)
    return inverter_features(inverter, images, batch_size=batch_size, progress=progress)


def describe(features: FeatureSet) -> str:
    blocks = ", ".join(f"{name} {width}" for name, width in features.layout.items())
    labels = "with labels" if features.labels is not None else "no labels"
    return f"{len(features)} rows x {features.features.shape[1]} features ({blocks}), {labels}"


@click.command("features")
@image_options(required=True)
@encoder_options
@click.option(
    "--raw-pixels",
    is_flag=True,
    default=False,
    help="Write the raw pixels in [-1, 1] instead of encoder features (the probes' baseline).",
)
@out_option("Features file to write (safetensors; .npz when it ends in .npz), read by `ganinv probe`.", folder=False)
@click.option("--npz", is_flag=True, default=False, help="Write NumPy .npz (the --out suffix becomes .npz).")
@quiet_option
def features(
    images,
    root,
    split,
    limit,
    input_range,
    inverter,
    batch_size,
    device,
    raw_pixels,
    out,
    npz,
    quiet,
    generator,
    trust_remote_code,
):
    """Encoder means (mu_z, mu_c, softmax(logits_d)) of every image of IMAGES, one row each, with its label and
    name; or the raw pixels with --raw-pixels."""
    if (inverter is None) == (not raw_pixels):
        raise GaninvError("give exactly one of --inverter RUN_OR_HUB_ID (encoder features) and --raw-pixels")
    if not npz:
        check_suffix(out, FEATURE_SUFFIXES, "--out", "is written as a features file (safetensors, or .npz)")
    out = Path(out).with_suffix(".npz") if npz else Path(out)
    check_not_an_input(out, [images, root])  # first: the input is no earlier result either, and this says why
    check_writable(out, folder=False)
    if raw_pixels:
        warn_ignored("generator", "--raw-pixels reads the images alone")
        result = pixel_features(read_images(images, root, split, limit, input_range, quiet))
    else:
        model = Inverter.load(
            inverter, device=resolve_device(device), generator=generator, trust_remote_code=trust_remote_code
        )
        size = tuple(model.spec.image_shape[1:])  # image files of mixed sizes go straight to the generator's
        result = encode(model, read_images(images, root, split, limit, input_range, quiet, size), batch_size, not quiet)
    split_read = split if images in DATASET_DIRS else None  # a folder or file has no split
    result.meta = {"images": images, "split": split_read, "limit": limit, "inverter": inverter}
    if not raw_pixels:
        result.meta["model_sha256"] = model_sha256(model)
    path = save_features(result, out)
    click.echo(f"wrote {path}: {describe(result)}")


@click.command("probe")
@click.option(
    "--train",
    "train_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Features of the labelled training split (from `ganinv features`).",
)
@click.option(
    "--test", "test_path", required=True, type=click.Path(dir_okay=False), help="Features of the labelled test split."
)
@click.option(
    "--classifiers",
    default=",".join(probes.CLASSIFIERS),
    show_default=True,
    help="Comma-separated classifiers to train: linear (multinomial logistic regression), knn, mlp.",
)
@click.option(
    "--knn-k",
    type=LimitedIntRange(min=1),
    default=probes.ProbeConfig.k,
    show_default=True,
    help="Neighbours of the kNN classifier.",
)
@seed_option
@json_option
@quiet_option
@deprecated_alias("--k", "--knn-k", "knn_k", type=LimitedIntRange(min=1))
def probe(train_path, test_path, classifiers, knn_k, seed, as_json, quiet):
    """Accuracy of classifiers trained on the train features and scored on the test features (MVAE Table V).

    The seed is the MLP's."""
    names = [name.strip() for name in classifiers.split(",") if name.strip()]
    if "knn" not in names:
        warn_ignored("knn_k", "it is the kNN classifier's, and --classifiers leaves knn out")
    unknown = sorted(set(names) - set(probes.CLASSIFIERS))
    if unknown or not names:  # none at all had been "unknown classifiers []" (an outside audit)
        said = f"unknown classifiers {unknown}" if unknown else "--classifiers names none"
        raise GaninvError(f"{said}; choose from {', '.join(probes.CLASSIFIERS)}")
    train, test = load_features(train_path), load_features(test_path)
    for path, split in ((train_path, train), (test_path, test)):
        if split.labels is None:
            raise DataError(
                f"{path} has no labels; extract features from a labelled source (a dataset or class folders)"
            )
    if train.features.shape[1] != test.features.shape[1]:
        raise DataError(
            f"train features have {train.features.shape[1]} columns, test {test.features.shape[1]}: "
            + extraction_remedy(train, test)
        )
    try:
        test_labels = labels_in_train_terms(train, test)
    except DataError as exc:
        raise DataError(f"--train {train_path}, --test {test_path}: {exc}") from None
    warn_of_train_rows_in_test(train_path, test_path, train, test)
    config = probes.ProbeConfig(k=knn_k, seed=seed)
    for name in names:  # every probe's data checked before the first is trained
        try:
            probes.check_trainable(name, np.asarray(train.labels), config)
        except DataError as exc:
            raise DataError(f"--train {train_path}: {exc}") from None
    accuracy, seconds = {}, {}
    for name in names:
        if not quiet:
            click.echo(f"training {name} on {describe(train)}", err=True)
        start = time.perf_counter()
        try:
            accuracy[name] = probes.probe_accuracy(
                name, train.features, train.labels, test.features, test_labels, config
            )
        except DataError as exc:
            raise DataError(f"--train {train_path}, --test {test_path}: {exc}") from None
        seconds[name] = round(time.perf_counter() - start, 2)
    result: dict[str, Any] = {
        "train": str(train_path),
        "test": str(test_path),
        "n_train": len(train),
        "n_test": len(test),
        "layout": train.layout,
        "accuracy_pct": {name: round(100 * a, 2) for name, a in accuracy.items()},
        "seconds": seconds,
    }
    table = [f"{'classifier':<12}{'accuracy':>10}{'seconds':>10}"]
    table += [f"{name:<12}{result['accuracy_pct'][name]:>9.2f}%{seconds[name]:>10.1f}" for name in names]
    echo_result(result, as_json, "\n".join(table))


def warn_of_train_rows_in_test(train_path: str, test_path: str, train: FeatureSet, test: FeatureSet) -> None:
    """Accuracy on rows the classifiers were trained on is not a held-out one: said, as the scores alone cannot."""
    if os.path.samefile(train_path, test_path):
        warn(
            f"--train and --test are the same file ({test_path}): the classifiers are scored on their own training "
            "rows, so the accuracy is not a held-out one; extract test features from other images (e.g. --split test)"
        )
        return
    shared = rows_shared_with_train(train, test)
    if shared:
        warn(
            f"{shared} of {len(test)} test rows are also train rows (the same features): the accuracy "
            "is not a held-out one; extract test features from images the train features do not hold"
        )


def class_name(features: FeatureSet, label: int) -> str:
    """A label as its class's name (a class folder's, a dataset's), else its index."""
    return features.classes[label] if label < len(features.classes) else str(label)


NO_LABELS = "the images have no labels to score clusters against; use a dataset or class folders"


@click.command("cluster-accuracy")
@image_options(required=False)
@encoder_options
@click.option(
    "--features",
    "features_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="A features file holding the code posterior softmax(logits_d), instead of --inverter IMAGES.",
)
@json_option
@quiet_option
def cluster_accuracy(
    images,
    root,
    split,
    limit,
    input_range,
    inverter,
    batch_size,
    device,
    features_path,
    as_json,
    quiet,
    generator,
    trust_remote_code,
):
    """Unsupervised accuracy of argmax q(d|x) against labels, best one-to-one assignment (SS-AVL Table 1), on
    IMAGES through --inverter or on a --features file."""
    if (features_path is None) == (inverter is None) or (inverter is not None and images is None):
        raise GaninvError("give either --inverter RUN_OR_HUB_ID IMAGES or --features FILE")
    if features_path is not None:
        source = features_path
        feats = load_features(features_path)
        if "d" not in feats.layout:
            raise DataError(
                f"{features_path} has no code posterior d (blocks: {', '.join(feats.layout)}); "
                "it needs features of an inverter whose generator has a categorical code"
            )
    else:
        source = inverter
        model = Inverter.load(
            inverter, device=resolve_device(device), generator=generator, trust_remote_code=trust_remote_code
        )
        if not model.spec.n_classes:
            raise GaninvError(
                f"the generator of {inverter} has no categorical code d (n_classes = 0), so there "
                "is no q(d|x) to cluster with; use `ganinv probe` for supervised accuracy"
            )
        size = tuple(model.spec.image_shape[1:])  # image files of mixed sizes go straight to the generator's
        image_set = read_images(images, root, split, limit, input_range, quiet, size)
        if image_set.labels is None:  # before any encoding
            raise DataError(NO_LABELS)
        feats = encode(model, image_set, batch_size, progress=not quiet)
    if feats.labels is None:
        raise DataError(NO_LABELS)
    clusters = feats.part("d").argmax(dim=1).numpy()  # (N,) argmax q(d|x)
    labels = feats.labels.numpy()
    if len(set(labels.tolist())) < 2:
        raise DataError(
            f"the images hold one class ({class_name(feats, int(labels[0]))}): matching clusters to one label "
            "measures nothing; give images of several classes (a dataset, or a folder with a folder per class)"
        )
    mapping = probes.match_clusters(clusters, labels)
    accuracy = probes.cluster_accuracy(clusters, labels)
    result = {
        "source": source,
        "n": len(feats),
        "accuracy_pct": round(100 * accuracy, 2),
        "n_clusters": feats.layout["d"],
        "clusters_used": len(set(clusters.tolist())),
        "n_classes": len(set(labels.tolist())),
        "cluster_to_label": {str(c): class_name(feats, label) for c, label in sorted(mapping.items())},
    }
    text = (
        f"cluster accuracy {result['accuracy_pct']:.2f}% on {result['n']} images "
        f"({result['clusters_used']} of {result['n_clusters']} clusters used, {result['n_classes']} classes)\n"
        "cluster -> label: " + ", ".join(f"{c}->{class_name(feats, label)}" for c, label in sorted(mapping.items()))
    )
    echo_result(result, as_json, text)
