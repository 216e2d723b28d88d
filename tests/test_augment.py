"""Perturbed dreams (ganinv.augment): reproducible, in range, off when asked, thickness in the right direction."""

import torch

from ganinv.augment import AugmentConfig, change_thickness, perturb


def strokes() -> torch.Tensor:
    """Four 1x16x16 images: a white bar on black."""
    x = -torch.ones(4, 1, 16, 16)
    x[:, :, 3:13, 6:10] = 1.0
    return x


def test_perturb_is_seeded_in_range_and_changes_every_image():
    x = strokes()
    config = AugmentConfig(probability=1.0)
    a = perturb(x, config, torch.Generator().manual_seed(0))
    b = perturb(x, config, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= -1 and a.max() <= 1
    assert all(not torch.equal(a[i], x[i]) for i in range(4))


def test_perturb_probability_picks_a_fraction():
    x = strokes().repeat(50, 1, 1, 1)  # 200 images
    assert torch.equal(perturb(x, AugmentConfig(probability=0.0)), x)
    out = perturb(x, AugmentConfig(probability=0.3), torch.Generator().manual_seed(1))
    changed = (out != x).flatten(1).any(dim=1).float().mean().item()
    assert 0.2 < changed < 0.4


def test_thickness_dilates_and_erodes():
    x = strokes()
    bolder = change_thickness(x, torch.ones(4, 1, 1, 1))
    thinner = change_thickness(x, -torch.ones(4, 1, 1, 1))
    assert (bolder > 0).sum() > (x > 0).sum() > (thinner > 0).sum() > 0
    assert torch.equal(change_thickness(x, torch.zeros(4, 1, 1, 1)), x)
