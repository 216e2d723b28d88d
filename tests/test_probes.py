"""Probes and cluster accuracy (docs/algorithms.md §4): right on easy data, chance on noise, Hungarian = brute force."""

import itertools

import numpy as np
import pytest

from ganinv.probes import CLASSIFIERS, ProbeConfig, cluster_accuracy, make_classifier, match_clusters, probe_accuracy


def blobs(n_per_class: int, n_classes: int, dim: int, spread: float, seed: int):
    """Gaussian blobs around well-separated centres, labels 0..n_classes-1."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(0, 1, (n_classes, dim)) * 6
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return centres[labels] + rng.normal(0, spread, (len(labels), dim)), labels


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_probes_separate_separable_classes(name):
    train_x, train_y = blobs(300, 4, 8, 1.0, seed=0)
    test_x, test_y = blobs(300, 4, 8, 1.0, seed=1)
    assert probe_accuracy(name, train_x, train_y, test_x, test_y) >= 0.99


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_probes_are_at_chance_on_random_labels(name):
    rng = np.random.default_rng(0)
    train_x, test_x = rng.normal(size=(800, 10)), rng.normal(size=(1000, 10))
    train_y, test_y = rng.integers(0, 4, 800), rng.integers(0, 4, 1000)
    accuracy = probe_accuracy(name, train_x, train_y, test_x, test_y, ProbeConfig(mlp_max_epochs=50))
    assert 0.19 < accuracy < 0.31  # chance is 0.25; one binomial standard deviation is 0.014


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_standardisation_is_fitted_on_train_only(name):
    # The sign of x decides the class. Every test point lies in [0.5, 1]: standardised with its
    # own statistics half of them would fall below zero; with the train statistics none does.
    rng = np.random.default_rng(0)
    train_x = rng.uniform(-1, 1, (400, 1))
    test_x = rng.uniform(0.5, 1, (200, 1))
    accuracy = probe_accuracy(name, train_x, (train_x[:, 0] > 0).astype(int), test_x, np.ones(200, dtype=int))
    assert accuracy == 1.0


def test_unknown_classifier_is_named():
    with pytest.raises(ValueError, match="unknown classifier 'svm'"):
        make_classifier("svm", ProbeConfig())


def brute_force_accuracy(pred, labels) -> float:
    """Best agreement over every one-to-one map between clusters and classes."""
    clusters, classes = sorted(set(pred)), sorted(set(labels))
    best = 0
    if len(clusters) <= len(classes):
        for image in itertools.permutations(classes, len(clusters)):
            mapping = dict(zip(clusters, image))
            best = max(best, sum(mapping[p] == y for p, y in zip(pred, labels)))
    else:
        for image in itertools.permutations(clusters, len(classes)):
            mapping = dict(zip(image, classes))
            best = max(best, sum(mapping.get(p) == y for p, y in zip(pred, labels)))
    return best / len(labels)


@pytest.mark.parametrize("n_clusters,n_classes", [(3, 3), (4, 4), (5, 3), (2, 4), (5, 5)])
def test_hungarian_matches_brute_force(n_clusters, n_classes):
    rng = np.random.default_rng(n_clusters * 10 + n_classes)
    for _ in range(20):
        labels = rng.integers(0, n_classes, 40)
        noisy = rng.random(40) < 0.4
        pred = np.where(noisy, rng.integers(0, n_clusters, 40), (labels * 7 + 2) % n_clusters)
        expected = brute_force_accuracy(pred.tolist(), labels.tolist())
        assert cluster_accuracy(pred, labels) == pytest.approx(expected)
        mapping = match_clusters(pred, labels)
        assert len(set(mapping.values())) == len(mapping)  # one-to-one
        agreement = np.mean([mapping.get(p) == y for p, y in zip(pred.tolist(), labels.tolist())])
        assert agreement == pytest.approx(expected)


def test_permuted_clusters_score_perfectly_with_any_label_values():
    labels = np.array([3, 3, 7, 7, 9, 9, 9])
    pred = np.array([2, 2, 0, 0, 5, 5, 5])
    assert cluster_accuracy(pred, labels) == 1.0
    assert match_clusters(pred, labels) == {2: 3, 0: 7, 5: 9}


def test_extra_clusters_stay_unmatched():
    # Two classes split over four clusters: only the two largest clusters can be matched.
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    pred = np.array([0, 0, 0, 1, 2, 2, 3, 3])
    assert cluster_accuracy(pred, labels) == pytest.approx(5 / 8)
    with pytest.raises(ValueError, match="cluster ids for"):
        cluster_accuracy(pred[:3], labels)


def test_the_mlp_needs_rows_to_hold_out_and_says_so_before_any_probe_is_trained(tmp_path):
    """Audit 17b F8: on 6 rows of 3 classes, linear and kNN were trained, then scikit-learn's "Increase
    'validation_fraction'" ended the command (no such ganinv option) and the two results were lost."""
    from click.testing import CliRunner

    from ganinv.cli.main import cli
    from ganinv.errors import DataError
    from ganinv.features import FeatureSet, save_features

    x, y = blobs(2, 3, 4, 0.5, seed=0)
    with pytest.raises(DataError, match=r"it needs 11 rows or more; the train split has 6: .*--classifiers linear,knn"):
        probe_accuracy("mlp", x, y, x, y)
    import torch

    save_features(
        FeatureSet(torch.tensor(x, dtype=torch.float32), torch.tensor(y), [], {"z": 4}, []), tmp_path / "f.npz"
    )
    result = CliRunner().invoke(cli, ["probe", "--train", str(tmp_path / "f.npz"), "--test", str(tmp_path / "f.npz")])
    assert result.exit_code == 2 and "it needs 11 rows or more" in result.output, result.output
    assert "training linear" not in result.output  # refused before the first probe
    assert probe_accuracy("mlp", *blobs(4, 3, 4, 0.5, seed=0), *blobs(4, 3, 4, 0.5, seed=1)) >= 0  # 12 rows: trains


def test_labels_that_are_ids_not_classes_are_refused_before_a_probe_is_trained():
    """Audit 34a F2: a 480 KB features file with one class per row took a linear probe 3.8 GB (rows x classes); the
    MLP's softmax is as large."""
    from ganinv.errors import DataError
    from ganinv.probes import check_trainable

    ids = np.arange(1000)
    for name in ("linear", "mlp"):
        with pytest.raises(DataError, match=r"holds 1,000 classes in 1,000 rows; .* check that the labels are classes"):
            check_trainable(name, ids, ProbeConfig())
        check_trainable(name, ids % 10, ProbeConfig())  # ten classes of 100 rows: fine
