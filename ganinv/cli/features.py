"""`ganinv features`, `ganinv probe`, `ganinv cluster-accuracy`: SPEC section 4.

    ganinv features --inverter runs/fit mnist --root DATA --split train --out train.safetensors
    ganinv features --raw-pixels mnist --root DATA --split test --out test-pixels.safetensors
    ganinv probe --train train.safetensors --test test.safetensors --json
    ganinv cluster-accuracy --inverter runs/fit mnist --root DATA
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Optional

import click

from ganinv import probes
from ganinv.atomic import json_text
from ganinv.cli.options import artifact_generator_options, device_option, image_options, resolve_device
from ganinv.data import ImageSet, fit_to_shape, load_images
from ganinv.errors import DataError, GaninvError
from ganinv.features import FeatureSet, inverter_features, load_features, pixel_features, save_features
from ganinv.inverter import Inverter
from ganinv.outputs import check_writable


def encoder_options(func):
    func = artifact_generator_options(func)
    func = device_option(func)
    func = click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
                        help="Images encoded per batch.")(func)
    return click.option("--inverter", default=None,
                        help="Fitted inverter: a run folder, an artifact folder, or a Hub repo id.")(func)


def read_images(images: str, root: Optional[str], split: str, limit: Optional[int],
                input_range: Optional[tuple[float, float]] = None) -> ImageSet:
    image_set = load_images(images, root=root, split=split, limit=limit, input_range=input_range)
    click.echo(f"read {len(image_set)} images of shape {tuple(image_set.images.shape[1:])} from {images}", err=True)
    return image_set


def encode(inverter: Inverter, image_set: ImageSet, batch_size: int) -> FeatureSet:
    """Convert the images to the generator's shape (warning on stderr), then take the encoder means."""
    x, warning = fit_to_shape(image_set.images, inverter.spec.image_shape)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    return inverter_features(inverter, dataclasses.replace(image_set, images=x), batch_size=batch_size)


def describe(features: FeatureSet) -> str:
    blocks = ", ".join(f"{name} {width}" for name, width in features.layout.items())
    labels = "with labels" if features.labels is not None else "no labels"
    return f"{len(features)} rows x {features.features.shape[1]} features ({blocks}), {labels}"


@click.command("features")
@image_options(required=True)
@encoder_options
@click.option("--raw-pixels", is_flag=True, default=False,
              help="Write the raw pixels in [-1, 1] instead of encoder features (the probes' baseline).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Features file to write (safetensors; .npz when it ends in .npz).")
@click.option("--npz", is_flag=True, default=False, help="Write NumPy .npz (the --out suffix becomes .npz).")
def features(images, root, split, limit, input_range, inverter, batch_size, device, raw_pixels, out, npz, generator,
             trust_remote_code):
    """Encoder means (mu_z, mu_c, softmax(logits_d)) of every image, one row each, with its label and name."""
    if (inverter is None) == (not raw_pixels):
        raise GaninvError("give exactly one of --inverter RUN_OR_HUB_ID (encoder features) and --raw-pixels")
    out = check_writable(Path(out).with_suffix(".npz") if npz else out, folder=False)
    image_set = read_images(images, root, split, limit, input_range)
    if raw_pixels:
        result = pixel_features(image_set)
    else:
        model = Inverter.load(inverter, device=resolve_device(device), generator=generator,
                              trust_remote_code=trust_remote_code)
        result = encode(model, image_set, batch_size)
    result.meta = {"images": images, "split": split, "limit": limit, "inverter": inverter}
    path = save_features(result, out)
    click.echo(f"wrote {path}: {describe(result)}")


@click.command("probe")
@click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False),
              help="Features of the labelled training split (from `ganinv features`).")
@click.option("--test", "test_path", required=True, type=click.Path(dir_okay=False),
              help="Features of the labelled test split.")
@click.option("--classifiers", default=",".join(probes.CLASSIFIERS), show_default=True,
              help="Comma-separated classifiers to train: linear (multinomial logistic regression), knn, mlp.")
@click.option("--k", type=click.IntRange(min=1), default=probes.ProbeConfig.k, show_default=True,
              help="Neighbours of the kNN classifier.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the MLP.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the results as JSON.")
def probe(train_path, test_path, classifiers, k, seed, as_json):
    """Accuracy of classifiers trained on the train features and scored on the test features (MVAE Table V)."""
    names = [name.strip() for name in classifiers.split(",") if name.strip()]
    unknown = sorted(set(names) - set(probes.CLASSIFIERS))
    if unknown or not names:
        raise GaninvError(f"unknown classifiers {unknown}; choose from {', '.join(probes.CLASSIFIERS)}")
    train, test = load_features(train_path), load_features(test_path)
    for path, split in ((train_path, train), (test_path, test)):
        if split.labels is None:
            raise DataError(f"{path} has no labels; extract features from a labelled source "
                            "(a dataset or class folders)")
    if train.features.shape[1] != test.features.shape[1]:
        raise DataError(f"train features have {train.features.shape[1]} columns, test {test.features.shape[1]}; "
                        "extract both with the same inverter")
    config = probes.ProbeConfig(k=k, seed=seed)
    accuracy, seconds = {}, {}
    for name in names:
        click.echo(f"training {name} on {describe(train)}", err=True)
        start = time.perf_counter()
        try:
            accuracy[name] = probes.probe_accuracy(name, train.features, train.labels, test.features, test.labels,
                                                   config)
        except DataError as exc:
            raise DataError(f"--train {train_path}, --test {test_path}: {exc}") from None
        seconds[name] = round(time.perf_counter() - start, 2)
    result = {"train": str(train_path), "test": str(test_path), "n_train": len(train), "n_test": len(test),
              "layout": train.layout, "accuracy_pct": {name: round(100 * a, 2) for name, a in accuracy.items()},
              "seconds": seconds}
    if as_json:
        click.echo(json_text(result, indent=2))
        return
    click.echo(f"{'classifier':<12}{'accuracy':>10}{'seconds':>10}")
    for name in names:
        click.echo(f"{name:<12}{result['accuracy_pct'][name]:>9.2f}%{seconds[name]:>10.1f}")


@click.command("cluster-accuracy")
@image_options(required=False)
@encoder_options
@click.option("--features", "features_path", type=click.Path(dir_okay=False), default=None,
              help="A features file holding the code posterior softmax(logits_d), instead of --inverter IMAGES.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the results as JSON.")
def cluster_accuracy(images, root, split, limit, input_range, inverter, batch_size, device, features_path, as_json,
                     generator, trust_remote_code):
    """Unsupervised accuracy of argmax q(d|x) against labels, best one-to-one assignment (SS-AVL Table 1)."""
    if (features_path is None) == (inverter is None) or (inverter is not None and images is None):
        raise GaninvError("give either --inverter RUN_OR_HUB_ID IMAGES or --features FILE")
    if features_path is not None:
        source = features_path
        feats = load_features(features_path)
        if "d" not in feats.layout:
            raise DataError(f"{features_path} has no code posterior d (blocks: {', '.join(feats.layout)}); "
                            "it needs features of an inverter whose generator has a categorical code")
    else:
        source = inverter
        model = Inverter.load(inverter, device=resolve_device(device), generator=generator,
                              trust_remote_code=trust_remote_code)
        if not model.spec.n_classes:
            raise GaninvError(f"the generator of {inverter} has no categorical code d (n_classes = 0), so there "
                              "is no q(d|x) to cluster with; use `ganinv probe` for supervised accuracy")
        feats = encode(model, read_images(images, root, split, limit, input_range), batch_size)
    if feats.labels is None:
        raise DataError("the images have no labels to score clusters against; use a dataset or class folders")
    clusters = feats.part("d").argmax(dim=1).numpy()  # (N,) argmax q(d|x)
    labels = feats.labels.numpy()
    mapping = probes.match_clusters(clusters, labels)
    accuracy = probes.cluster_accuracy(clusters, labels)
    result = {"source": source, "n": len(feats), "accuracy_pct": round(100 * accuracy, 2),
              "n_clusters": feats.layout["d"], "clusters_used": len(set(clusters.tolist())),
              "n_classes": len(set(labels.tolist())),
              "cluster_to_label": {str(c): label for c, label in sorted(mapping.items())}}
    if as_json:
        click.echo(json_text(result, indent=2))
        return
    click.echo(f"cluster accuracy {result['accuracy_pct']:.2f}% on {result['n']} images "
               f"({result['clusters_used']} of {result['n_clusters']} clusters used, {result['n_classes']} classes)")
    click.echo("cluster -> label: " + ", ".join(f"{c}->{label}" for c, label in sorted(mapping.items())))
