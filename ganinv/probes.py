"""How useful are features? Classifiers trained on them, and clusters matched to labels (docs/algorithms.md §4).

- Supervised probes (MVAE Sec. V-F, Table V): multinomial logistic regression, k-nearest
  neighbours and a small MLP, each behind a standardisation fitted on the train features
  only, trained on a labelled train split and scored on its test split.
- Unsupervised accuracy (SS-AVL Table 1): cluster ids (e.g. `argmax q(d|x)`) matched to
  labels by the best one-to-one assignment (Hungarian algorithm), then scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ganinv.errors import DataError, first_line

CLASSIFIERS = ("linear", "knn", "mlp")


@dataclass
class ProbeConfig:
    k: int = 5  # neighbours in the k-nearest-neighbour vote
    mlp_hidden: int = 256  # one hidden layer: "a simple network of two layers" (MVAE Sec. V-F)
    mlp_max_epochs: int = 200  # Adam epochs, stopped early on 10% of the train split
    linear_max_iter: int = 1000  # L-BFGS iterations of the logistic regression
    seed: int = 0  # MLP initialisation and early-stopping split


def make_classifier(name: str, config: ProbeConfig) -> Pipeline:
    """Standardisation (fitted on train only, as part of the pipeline) followed by one classifier."""
    if name == "linear":
        classifier = LogisticRegression(max_iter=config.linear_max_iter)  # multinomial (softmax) with L-BFGS
    elif name == "knn":
        classifier = KNeighborsClassifier(n_neighbors=config.k)
    elif name == "mlp":
        classifier = MLPClassifier(
            hidden_layer_sizes=(config.mlp_hidden,),
            max_iter=config.mlp_max_epochs,
            early_stopping=True,
            validation_fraction=MLP_HELD_OUT,
            random_state=config.seed,
        )
    else:
        raise ValueError(f"unknown classifier {name!r}; known: {', '.join(CLASSIFIERS)}")
    return make_pipeline(StandardScaler(), classifier)


def check_split(x: np.ndarray, y: np.ndarray, split: str) -> None:
    """Features (N, F) of finite numbers and N whole-number labels, or a `DataError` saying what is wrong."""
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"the {split} features have shape {x.shape}; a probe needs rows x columns, at least one row")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise DataError(
            f"the {split} split has {x.shape[0]} feature rows but labels of shape {y.shape}; give one label per row"
        )
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise DataError(
            f"the {split} features hold NaN or infinite values in {len(rows)} row(s) (first: row "
            f"{rows[0]}); extract them again from finite images, or drop those rows"
        )


MLP_HELD_OUT = 0.1  # scikit-learn's validation_fraction: the MLP's early stopping holds out this share of the rows
MLP_MIN_HELD_OUT = 2  # and refuses fewer held-out rows than this


MAX_CLASSES = 10_000  # a linear or MLP probe's classes: ImageNet-21k's count is the largest in common use


def check_trainable(name: str, train_y, config: ProbeConfig) -> None:
    """Refuse (`DataError`) a train split that classifier `name` cannot learn from, before any probe is trained: too
    few rows for k (knn), a single class (linear, mlp), too few rows to hold out two for the MLP's early stopping
    (an outside audit saw scikit-learn's own "Increase 'validation_fraction'" after two probes had run)."""
    train_y = np.asarray(train_y)
    rows, classes = train_y.shape[0], np.unique(train_y)
    if name == "knn" and config.k > rows:
        raise DataError(
            f"knn with k = {config.k} (--knn-k) needs at least {config.k} training rows, the train split "
            f"has {rows}; use --knn-k {rows} or fewer"
        )
    if name in ("linear", "mlp") and len(classes) < 2:
        raise DataError(
            f"the train split holds a single class ({classes[0]}); the {name} probe needs labels of at least two "
            "classes"
        )
    if name in ("linear", "mlp") and (len(classes) > MAX_CLASSES or len(classes) > rows // 2):
        # their weights and probabilities are rows x classes: a 480 KB file of one class per row took 3.8 GB (an
        # outside audit)
        raise DataError(
            f"the train split holds {len(classes):,} classes in {rows:,} rows; the {name} probe learns at most "
            f"{MAX_CLASSES:,}, and at least two rows of each: check that the labels are classes, not ids"
        )
    if name == "mlp" and math.ceil(MLP_HELD_OUT * rows) < MLP_MIN_HELD_OUT:
        needed = math.floor((MLP_MIN_HELD_OUT - 1) / MLP_HELD_OUT) + 1  # the fewest rows whose 10% rounds up to 2
        raise DataError(
            f"the mlp probe holds out {MLP_HELD_OUT:.0%} of the train rows to stop early, at least "
            f"{MLP_MIN_HELD_OUT}, so it needs {needed} rows or more; the train split has {rows}: give more labelled "
            "rows, or choose --classifiers linear,knn"
        )


def probe_accuracy(name: str, train_x, train_y, test_x, test_y, config: Optional[ProbeConfig] = None) -> float:
    """Test accuracy (fraction) of classifier `name` trained on train_x (N, F) with labels train_y (N,).

    Refuses (`DataError`) what the classifiers cannot learn from: empty or non-finite features, label
    counts that differ from the rows, a single class (linear, mlp), fewer training rows than k (knn).
    """
    config = config or ProbeConfig()
    train_x, test_x = np.asarray(train_x, dtype=np.float32), np.asarray(test_x, dtype=np.float32)
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    check_split(train_x, train_y, "train")
    check_split(test_x, test_y, "test")
    if train_x.shape[1] != test_x.shape[1]:
        raise DataError(
            f"train features have {train_x.shape[1]} columns, test {test_x.shape[1]}; extract both the same way"
        )
    check_trainable(name, train_y, config)
    model = make_classifier(name, config)
    try:
        model.fit(train_x, train_y)
    except ValueError as exc:  # scikit-learn's refusal of data it cannot fit (e.g. too few rows to hold out)
        raise DataError(
            f"the {name} probe cannot be trained on these {train_x.shape[0]} rows: "
            f"{first_line(exc)}; give more labelled rows or choose other "
            "--classifiers"
        ) from None
    return float((model.predict(test_x) == test_y).mean())


def _contingency(pred, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """counts[i, j] = how many items of cluster clusters[i] carry label classes[j]."""
    pred, labels = np.asarray(pred).ravel(), np.asarray(labels).ravel()
    if pred.shape != labels.shape:
        raise ValueError(f"{pred.shape[0]} cluster ids for {labels.shape[0]} labels")
    if pred.size == 0:
        raise ValueError("no items to score")
    clusters, cluster_index = np.unique(pred, return_inverse=True)
    classes, class_index = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(counts, (cluster_index, class_index), 1)
    return counts, clusters, classes


def match_clusters(pred, labels) -> dict[int, int]:
    """The one-to-one map cluster -> label that agrees with the most items (Hungarian algorithm).

    With more clusters than classes, the extra clusters stay unmatched (their items count
    as errors); with fewer, some classes are never predicted.
    """
    counts, clusters, classes = _contingency(pred, labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {clusters[r].item(): classes[c].item() for r, c in zip(rows, cols)}


def cluster_accuracy(pred, labels) -> float:
    """Fraction of items whose cluster maps to their label under the best one-to-one map (SS-AVL Table 1)."""
    counts, _, _ = _contingency(pred, labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())
