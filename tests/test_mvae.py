"""MVAE (docs/algorithms.md §5): the loss terms against independent formulas, the masks, the mixture, training,
exact resume, save/load, features and the command line."""

import dataclasses
import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from edited_runs import name_unrecorded_folder
from interrupts import stop_after_checkpoint
from torch import nn

from ganinv.cli.main import cli
from ganinv.data import ImageSet
from ganinv.errors import ConfigError, RunError, SourceError
from ganinv.features import inverter_features
from ganinv.mvae.dropout import KSW, ComponentDropout, gau_kl, gs_mask
from ganinv.mvae.losses import dhsic, dirichlet_kl
from ganinv.mvae.model import MVAE, mixing_coefficients
from ganinv.mvae.train import MVAEConfig, mvae_loss, train_mvae
from ganinv.runs import Run
from ganinv.spec import GeneratorSpec

TINY_MODEL = dict(n_components=3, latent_dim=4, width=8, hidden=32)


class LinearNet(nn.Module):
    """G(z, c, d) = tanh(W [z, c, d] + b) as a 16x16 image: every latent direction moves the image."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4 + 1 + 3, 256)

    def forward(self, z, c, d):
        return torch.tanh(self.linear(torch.cat([z, c, d], dim=1))).view(-1, 1, 16, 16)


def tiny_generator():
    """The `module:callable` source of the tests' generator: seeded, with z (4), c (1) and d (3 categories)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = LinearNet()
    return net, GeneratorSpec(nz=4, image_shape=(1, 16, 16), nc=1, n_classes=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short run atop the tiny generator."""
    config = MVAEConfig(
        generator="test_mvae:tiny_generator",
        steps=60,
        batch_size=16,
        lr=3e-3,
        log_every=10,
        eval_samples=32,
        lambda_s=1.0,
        device="cpu",
        **TINY_MODEL,
    )
    return train_mvae(config, tmp_path_factory.mktemp("runs") / "mvae", quiet=True)


def tiny_images(n=32, seed=0) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # (N, 1, 16, 16)


# ---- loss terms -------------------------------------------------------------------------------------
def test_dirichlet_kl_matches_torch():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(5, 4, generator=gen) * 3 + 0.1
    b = torch.rand(4, generator=gen) * 3 + 0.1
    expected = torch.distributions.kl_divergence(torch.distributions.Dirichlet(a), torch.distributions.Dirichlet(b))
    assert torch.allclose(dirichlet_kl(a, b), expected.mean(), atol=1e-5)
    flat = torch.distributions.Dirichlet(torch.ones(4))
    assert torch.allclose(
        dirichlet_kl(a), torch.distributions.kl_divergence(torch.distributions.Dirichlet(a), flat).mean(), atol=1e-5
    )
    assert dirichlet_kl(torch.ones(2, 4)).abs() < 1e-6


def loop_dhsic(latents: list[torch.Tensor]) -> float:
    """The V-statistic of docs/algorithms.md §5 with explicit loops, bandwidths by the median of pairwise squared
    distances."""
    n = latents[0].shape[0]
    kernels = []
    for z in latents:
        squared = [[float(((z[a] - z[b]) ** 2).sum()) for b in range(n)] for a in range(n)]
        h2 = 0.5 * statistics.median(squared[a][b] for a in range(n) for b in range(a + 1, n))
        kernels.append([[math.exp(-squared[a][b] / (2 * h2)) for b in range(n)] for a in range(n)])
    joint = sum(math.prod(k[a][b] for k in kernels) for a in range(n) for b in range(n)) / n**2
    product = math.prod(sum(k[a][b] for a in range(n) for b in range(n)) / n**2 for k in kernels)
    cross = sum(math.prod(sum(k[a][b] for b in range(n)) / n for k in kernels) for a in range(n)) / n
    return joint + product - 2 * cross


def test_dhsic_equals_the_loop_formula():
    gen = torch.Generator().manual_seed(1)
    latents = [torch.randn(7, d, generator=gen) for d in (2, 1, 3)]  # 21 pairs: an odd count, one median
    latents[1] = latents[1] + latents[0][:, :1]  # some dependence, so the value is not ~0
    assert dhsic(latents).item() == pytest.approx(loop_dhsic(latents), rel=1e-5, abs=1e-7)


def test_dhsic_is_nonnegative_near_zero_for_independent_and_large_for_dependent():
    gen = torch.Generator().manual_seed(2)
    independent = [torch.randn(256, 2, generator=gen) for _ in range(2)]
    base = torch.randn(256, 2, generator=gen)
    dependent = [base, base + 0.1 * torch.randn(256, 2, generator=gen)]
    small, large = dhsic(independent).item(), dhsic(dependent).item()
    assert 0 <= small < 0.005  # the V-statistic's O(1/n) bias
    assert large > 10 * small
    for seed in range(5):  # >= 0 on any sample
        g = torch.Generator().manual_seed(seed)
        assert dhsic([torch.randn(16, 2, generator=g) for _ in range(4)]).item() >= -1e-7


# ---- dropout masks ----------------------------------------------------------------------------------
def test_gau_kl_uses_the_kingma_salimans_welling_constants():
    assert KSW == (1.16145124, -1.50204118, 0.58629921)
    assert gau_kl(torch.tensor(1.0)).item() == pytest.approx(-(1.16145124 - 1.50204118 + 0.58629921), abs=1e-6)
    tau = 0.25
    expected = -(0.5 * math.log(tau) + 1.16145124 * tau - 1.50204118 * tau**2 + 0.58629921 * tau**3)
    assert gau_kl(torch.tensor(tau)).item() == pytest.approx(expected, abs=1e-6)
    taus = torch.linspace(0.01, 1.0, 50)
    assert (gau_kl(taus).diff() < 0).all()  # the penalty falls as the dropout rate rises, up to tau = 1
    dropout = ComponentDropout("gau", 3, p_init=0.1)
    with torch.no_grad():
        dropout.p_logit.fill_(3.0)  # p = 0.95, clamped to 0.5 (tau = 1)
    assert dropout.p().item() == 0.5
    assert dropout.penalty().item() == pytest.approx(-(1.16145124 - 1.50204118 + 0.58629921), abs=1e-6)


def test_gs_mask_is_the_two_class_gumbel_softmax_with_the_fix():
    gen = torch.Generator().manual_seed(3)
    p_logit = torch.randn(5, generator=gen)
    g1, g2 = -torch.rand(2, 5, generator=gen).log().neg().log()  # Gumbel(0, 1)
    p, temperature = torch.sigmoid(p_logit), 0.1
    keep = torch.exp((torch.log(1 - p) + g1) / temperature)
    drop = torch.exp((torch.log(p) + g2) / temperature)  # the fix: log p, not log(1 - p)
    assert torch.allclose(gs_mask(p_logit, g1, g2, temperature), keep / (keep + drop), atol=1e-5)

    dropout = ComponentDropout("gs", 4, p_init=0.3)
    masks = dropout.sample(5000, torch.device("cpu"), torch.Generator().manual_seed(4))  # (5000, 4)
    assert (masks > 0.5).float().mean().item() == pytest.approx(0.7, abs=0.02)  # kept with probability 1 - p
    h = -(0.3 * math.log(0.3) + 0.7 * math.log(0.7))
    assert dropout.penalty().item() == pytest.approx(-h, abs=1e-5)  # -H(p), one tied p
    masks.sum().backward()
    assert dropout.p_logit.grad is not None and dropout.p_logit.grad.item() < 0  # raising p lowers the masks


def test_bernoulli_and_none_masks():
    bernoulli = ComponentDropout("bernoulli", 3, per_component=True, p_init=0.5)
    masks = bernoulli.sample(4000, torch.device("cpu"), torch.Generator().manual_seed(5))
    assert set(masks.unique().tolist()) == {0.0, 1.0} and not masks.requires_grad
    assert masks.mean().item() == pytest.approx(0.5, abs=0.03) and bernoulli.penalty().item() == 0
    assert (ComponentDropout("none", 3).sample(2, torch.device("cpu")) == 1).all()


# ---- the mixture ------------------------------------------------------------------------------------
def test_b_sums_to_one_and_dropped_components_get_no_weight():
    w = torch.distributions.Dirichlet(torch.ones(3)).sample((6,))  # (6, 3)
    m = torch.tensor([[1.0, 0.0, 1.0]]).expand(6, 3)
    b = mixing_coefficients(w, m)
    assert torch.allclose(b.sum(dim=1), torch.ones(6)) and (b[:, 1] == 0).all()

    torch.manual_seed(0)
    model = MVAE(image_shape=[1, 16, 16], s_dim=8, **TINY_MODEL)
    sample = model(tiny_images(8))
    assert torch.allclose(sample.b.sum(dim=1), torch.ones(8), atol=1e-5) and (sample.b >= 0).all()
    assert sample.x_hat.shape == (8, 1, 16, 16) and sample.s.shape == (8, 8)
    alone = model.reconstruct(tiny_images(2), component=1)
    assert torch.allclose(model.decode(model.sub_decoders[1](model.encode(tiny_images(2)).mu[:, 1])), alone)


def test_training_atop_a_generator_reduces_the_loss_and_selects_components(trained):
    records = [json.loads(line) for line in (trained.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30, 40, 50, 60]
    assert records[-1]["rec"] < 0.8 * records[0]["rec"] and records[-1]["total"] < records[0]["total"]
    summary = json.loads((trained.run_dir / "eval.json").read_text())
    assert 0 < summary["selected_k"] <= 3 and summary["kept"] and len(summary["keep_rates"]) == 3
    assert summary["generated"]["sse_per_image"] < 0.5 * summary["generated"]["mean_image_baseline"]["sse_per_image"]
    assert (trained.run_dir / "components.png").is_file()
    assert trained.model.kept.tolist() == [float(i in summary["kept"]) for i in range(3)]


def test_save_load_round_trip(trained):
    # the run folder; its generator is a Python callable, which an artifact may not choose: the caller names it
    loaded = MVAE.load(str(trained.run_dir), generator="test_mvae:tiny_generator")
    original = trained.model.state_dict()
    assert set(loaded.state_dict()) == set(original)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in original.items())
    x = tiny_images(4)
    with torch.no_grad():
        assert torch.allclose(loaded.reconstruct(x), trained.model.reconstruct(x), atol=1e-6)
    assert loaded.spec == trained.model.spec and loaded.feature_layout() == {"z1": 4, "z2": 4, "z3": 4}


def test_a_corrupt_artifact_is_refused(trained, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "broken"
    trained.model.save_pretrained(folder)
    weights = load_file(str(folder / "model.safetensors"))
    weights.pop("kept")
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(SourceError, match="cannot load an MVAE"):
        MVAE.load(str(folder))


def test_features_are_every_components_mean(trained):
    x = tiny_images(5)
    features = inverter_features(trained.model, ImageSet(x, torch.arange(5)), progress=False)
    assert features.layout == {"z1": 4, "z2": 4, "z3": 4}
    with torch.no_grad():
        assert torch.allclose(features.features, trained.model.encode(x).mu.flatten(1), atol=1e-6)
    assert torch.equal(features.part("z2"), features.features[:, 4:8])


# ---- checkpoints and resume ---------------------------------------------------------------------------
def artifact_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "mvae" / "model.safetensors"))


@pytest.mark.parametrize("source", ["generator", "data"])
def test_resume_after_a_kill_ends_with_identical_weights(tmp_path, source, monkeypatch):
    if source == "generator":
        where = dict(generator="test_mvae:tiny_generator", lambda_s=1.0, eval_samples=16)
    else:  # standalone: real images drawn in a seeded order, one dropout rate per component, Gaussian masks
        images = tmp_path / "images.npz"
        np.savez(images, images=tiny_images(24).numpy())
        where = dict(data=str(images), s_dim=6, dropout="gau", per_component_p=True)
    config = MVAEConfig(
        steps=12, batch_size=8, lr=3e-3, log_every=3, checkpoint_every=4, device="cpu", **where, **TINY_MODEL
    )
    straight = train_mvae(config, tmp_path / "straight", quiet=True)

    save = stop_after_checkpoint(monkeypatch, 8)
    with pytest.raises(KeyboardInterrupt):
        train_mvae(config, tmp_path / "resumed", quiet=True)
    monkeypatch.setattr(Run, "save_checkpoint", save)
    killed = tmp_path / "resumed"
    assert [p.name for p in Run(killed).checkpoints()] == ["step-000004.pt", "step-000008.pt"]
    assert not (killed / "mvae").exists() and not (killed / "eval.json").exists()  # the artifact only at the end
    resumed = train_mvae(config, killed, quiet=True, resume=True)

    final = Run(straight.run_dir).load_checkpoint()["model"], Run(killed).load_checkpoint()["model"]
    assert set(final[0]) == set(final[1]) and all(torch.equal(final[0][k], final[1][k]) for k in final[0])
    artifacts = artifact_weights(straight.run_dir), artifact_weights(killed)
    assert all(torch.equal(artifacts[0][k], artifacts[1][k]) for k in artifacts[0])
    assert {**straight.summary, "run": None} == {**resumed.summary, "run": None}  # the same selection and errors
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [3, 6, 9, 12]  # records after the checkpoint were dropped, then written again once
    if source == "data":  # the same path holding other images (a relative path resumed elsewhere, say): refused
        np.savez(images, images=tiny_images(24, seed=5).numpy())
        with pytest.raises(RunError, match="the data of .* differs from what the run started with"):
            train_mvae(dataclasses.replace(config, steps=16), killed, quiet=True, resume=True)


def test_a_checkpoint_from_another_device_or_another_model(tmp_path, monkeypatch):
    config = MVAEConfig(
        generator="test_mvae:tiny_generator",
        steps=4,
        batch_size=8,
        checkpoint_every=2,
        eval_samples=8,
        device="cpu",
        **TINY_MODEL,
    )
    save = stop_after_checkpoint(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train_mvae(config, tmp_path / "run", quiet=True)
    monkeypatch.setattr(Run, "save_checkpoint", save)
    path = Run(tmp_path / "run").latest_checkpoint()
    state = torch.load(path, weights_only=True)
    torch.save({**state, "device_type": "cuda"}, path)  # as a GPU run leaves it: its sampler cannot move here
    with pytest.warns(UserWarning, match="will not match an uninterrupted run bit for bit; resume with --device cuda"):
        result = train_mvae(config, tmp_path / "run", quiet=True, resume=True)
    assert result.summary["initial_k"] == 3 and Run(result.run_dir).latest_checkpoint().name == "step-000004.pt"

    torch.save({"step": 2, "model": {}}, Run(tmp_path / "run").checkpoint_dir / "step-000004.pt")  # another's
    line = error_line(invoke("mvae", "fit", "--resume", "--out", tmp_path / "run", "--trust-remote-code"))
    assert "step-000004.pt does not fit this MVAE run" in line and "delete it to resume from the one before" in line


def test_checkpoint_every_is_checked():
    with pytest.raises(
        ConfigError, match=r"--checkpoint-every \(MVAEConfig.checkpoint_every\) must be an integer >= 1"
    ):
        MVAEConfig(checkpoint_every=0)
    result = invoke("mvae", "fit", "--data", "x.npz", "--checkpoint-every", 0)
    assert result.exit_code == 2 and "'--checkpoint-every'" in result.output


# ---- the command line -------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result) -> str:
    """The single `Error:` line of a refused command (and no traceback)."""
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


STANDALONE_FLAGS = (
    "--components",
    2,
    "--latent-dim",
    3,
    "--s-dim",
    6,
    "--width",
    4,
    "--hidden",
    16,
    "--batch-size",
    8,
    "--device",
    "cpu",
    "--quiet",
)


def test_cli_resume_extends_reevaluates_and_refuses_changes(tmp_path):
    images = tmp_path / "images.npz"
    np.savez(images, images=tiny_images(24).numpy(), labels=np.arange(24) % 3)
    run = tmp_path / "run"
    result = invoke(
        "mvae",
        "fit",
        "--data",
        images,
        "--steps",
        4,
        "--checkpoint-every",
        2,
        "--out",
        run,
        "--json",
        *STANDALONE_FLAGS,
    )
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    assert [p.name for p in Run(run).checkpoints()] == ["step-000002.pt", "step-000004.pt"]
    assert "no test split: the real.* figures are measured on the training images" in result.stderr  # audit 9

    # a finished run: resuming evaluates its weights again, to the same figures and artifact
    weights = artifact_weights(run)
    (run / "eval.json").unlink()
    result = invoke("mvae", "fit", "--resume", "--out", run, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == first and json.loads((run / "eval.json").read_text()) == first
    assert all(torch.equal(weights[k], v) for k, v in artifact_weights(run).items())

    # --steps extends it
    result = invoke("mvae", "fit", "--resume", "--out", run, "--steps", 6, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert Run(run).latest_checkpoint().name == "step-000006.pt"

    # anything else is the run's own, saved option
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "--lr", 0.1, "--option", "width=3"))
    assert "drop --lr (the run's: 0.001), --option" in line and "only --steps, --device, --quiet" in line
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "--data", "mnist"))
    assert "drop --data (the run's: " in line
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "--data", images, "--steps", 4))
    assert "past --steps 4" in line  # its own data again is no change (audit 17b F6): refused only for the steps
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, *STANDALONE_FLAGS, "--steps", 4))
    assert "past --steps 4" in line  # --components K, saved as n_components, is no change either (audit 20a)
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "--components", 3))
    assert "drop --components (the run's: 2)" in line
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "-g", "builtin:mnist"))
    assert "continues the run's own generator None" in line
    assert "needs --out" in error_line(invoke("mvae", "fit", "--resume"))
    config = json.loads((run / "config.json").read_text())
    config["mvae"]["lr"] = "fast"  # the run's file, not a recipe, holds the bad value (audit 9, F6d)
    (run / "config.json").write_text(json.dumps(config))
    assert f"{run}/config.json holds a value" in error_line(invoke("mvae", "fit", "--resume", "--out", run))


def test_a_folder_without_a_test_split_is_read_once(tmp_path):
    """Audit 9 (F6e): `mvae fit --data FOLDER` read the folder again for its evaluation, printing every note twice."""
    from PIL import Image

    folder = tmp_path / "mixed"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        side = 8 if i < 7 else 10  # three images of another size: resized, with one note
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(folder / f"{i}.png")
    result = invoke(
        "mvae", "fit", "--data", folder, "--steps", 2, "--out", tmp_path / "run", "--quiet", *STANDALONE_FLAGS
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("they were resized to it") == 1, result.stderr
    assert "the real.* figures are measured on the training images" in result.stderr
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["real"]["n"] == 10


def test_cli_resume_refuses_a_run_of_another_kind(tmp_path):
    from ganinv.fit import FitConfig
    from ganinv.train import TrainConfig

    for kind, options in (("fit", FitConfig().to_dict()), ("train", TrainConfig(data="x.npz").to_dict())):
        folder = tmp_path / kind
        (folder / "checkpoints").mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({kind: options, "generator": None}))
        torch.save({"step": 1}, folder / "checkpoints" / "step-000001.pt")
        line = error_line(invoke("mvae", "fit", "--resume", "--out", folder))
        assert f"holds a `ganinv {kind}` run, not a `ganinv mvae fit` run" in line
        assert f"resume it with `ganinv {kind} --resume --out {folder}`" in line
    line = error_line(invoke("mvae", "fit", "--resume", "--out", tmp_path / "nothing"))
    assert "holds no run to resume" in line


def test_cli_resume_of_a_code_generator_needs_the_users_word(tmp_path):
    run = tmp_path / "run"
    tiny = (
        "--components",
        2,
        "--latent-dim",
        3,
        "--width",
        4,
        "--hidden",
        16,
        "--batch-size",
        8,
        "--device",
        "cpu",
        "--quiet",
    )
    result = invoke("mvae", "fit", "-g", "test_mvae:tiny_generator", "--steps", 2, "--out", run, *tiny)
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "config.json").read_text())["mvae"]
    assert saved["generator"] == "test_mvae:tiny_generator" and "trust_remote_code" not in saved  # never saved

    # the source read back from config.json is data: it may not choose code to run
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "--steps", 3))
    assert "named by the run's" in line and "config.json" in line and "--trust-remote-code" in line
    assert Run(run).latest_checkpoint().name == "step-000002.pt"
    result = invoke("mvae", "fit", "--resume", "--out", run, "--steps", 3, "--trust-remote-code", "--quiet")
    assert result.exit_code == 0, result.output
    result = invoke("mvae", "fit", "--resume", "--out", run, "--steps", 4, "-g", "test_mvae:tiny_generator", "--quiet")
    assert result.exit_code == 0, result.output
    assert Run(run).latest_checkpoint().name == "step-000004.pt"
    line = error_line(invoke("mvae", "fit", "--resume", "--out", run, "-g", "builtin:mnist"))
    assert "continues the run's own generator 'test_mvae:tiny_generator'" in line


def test_cli_standalone_fit_and_features(tmp_path):
    images = tmp_path / "images.npz"
    np.savez(images, images=tiny_images(24).numpy(), labels=np.arange(24) % 3)
    run = tmp_path / "run"
    result = invoke(
        "mvae",
        "fit",
        "--data",
        images,
        "--components",
        2,
        "--latent-dim",
        3,
        "--s-dim",
        6,
        "--width",
        4,
        "--hidden",
        16,
        "--steps",
        4,
        "--batch-size",
        8,
        "--dropout",
        "gau",
        "--device",
        "cpu",
        "--out",
        run,
        "--quiet",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dropout"] == "gau" and summary["initial_k"] == 2 and summary["real"]["n"] == 24
    result = invoke("mvae", "features", "--mvae", run, images, "--out", tmp_path / "f.safetensors")
    assert result.exit_code == 0, result.output
    assert "24 rows x 6 features" in result.stdout and "features:" in result.stderr  # its progress bar
    quiet = invoke("mvae", "features", "--mvae", run, images, "--out", tmp_path / "q.safetensors", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    # `mvae eval` on the same images repeats the fit's selection (same seed) and reconstruction error
    result = invoke("mvae", "eval", "--mvae", run, images, "--json")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    assert "split" not in evaluated  # a file has none: "split test" read as held-out figures (audit 23b)
    for key in ("selected_k", "kept", "keep_rates", "p", "initial_k", "dropout"):
        assert evaluated[key] == summary[key], key
    assert evaluated["real"]["sse_per_image"] == pytest.approx(summary["real"]["sse_per_image"], rel=1e-5)
    other_seed = json.loads(invoke("mvae", "eval", "--mvae", run, images, "--json", "--seed", 5).stdout)
    assert other_seed["p"] == summary["p"] and other_seed["keep_rates"] != summary["keep_rates"]
    given = invoke("mvae", "eval", "--mvae", run, images, "-g", "builtin:mnist")  # "give the generator it was trained
    assert given.exit_code == 2 and "is standalone (its own decoder" in given.stderr  # for": none (audit 23b)


@pytest.mark.parametrize(
    "args,message",
    [
        (("fit", "--generator", "builtin:mnist", "--data", "mnist", "--out", "{tmp}/r"), "not both"),
        (("fit", "--data", "{tmp}/missing", "--out", "{tmp}/r"), "does not exist"),
        (("fit", "--data", "mnist", "--out", "{tmp}/r"), "needs --root"),
        (("fit", "--generator", "no/such/generator", "--out", "{tmp}/r"), "cannot resolve generator source"),
        (("features", "--mvae", "{tmp}", "mnist", "--out", "{tmp}/f.safetensors"), "holds no MVAE"),
        (("eval", "--mvae", "{tmp}", "mnist"), "holds no MVAE"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, message):
    result = invoke("mvae", *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error:")]) == 1


def test_the_standalone_mix_decoder_learns_at_the_papers_learning_rate():
    """MNIST-like images (mostly background, one bright stroke) at Adam 1e-3: without normalisation the decoder's
    pre-tanh activations ran to -90 within 30 steps on MNIST, leaving a constant black output with no gradient."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x = -torch.ones(256, 1, 16, 16)  # (N, 1, 16, 16)
    for i in range(len(x)):
        r, c = torch.randint(3, 10, (2,), generator=gen).tolist()
        x[i, 0, r : r + 4, c : c + 3] = 1.0
    model = MVAE(image_shape=[1, 16, 16], n_components=2, latent_dim=4, s_dim=8, width=32, hidden=64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    config = MVAEConfig(data="strokes")
    for _ in range(60):
        batch = x[torch.randint(len(x), (32,), generator=gen)]
        loss = mvae_loss(model, batch, model(batch), config).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        reconstruction = model.reconstruct(x[:64])
    sse = ((reconstruction - x[:64]) / 2).square().flatten(1).sum(1).mean()
    mean_image_sse = ((x[:64].mean(0) - x[:64]) / 2).square().flatten(1).sum(1).mean()
    assert reconstruction.std() > 0.1 and sse < 0.7 * mean_image_sse, (float(reconstruction.std()), float(sse))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("n_components", 200000, r"n_components must be an integer in \[1, 256\], got 200000"),
        ("temperature", 0.0, "temperature must be a positive number, got 0.0"),
        ("temperature", -1.0, "temperature must be a positive number"),
        ("p_init", 5.0, r"p_init must be a number in \(0, 1\), got 5.0"),
    ],
)
def test_an_mvae_artifacts_counts_and_rates_are_checked_before_anything_is_built(tmp_path, field, value, message):
    """Audit 15: 200000 components grew past 1.7 GB before any weight was read; a temperature of 0 or below loaded
    and changed the component selection; p_init 5 gave "math domain error"."""
    from ganinv.errors import GaninvError

    MVAE(image_shape=[1, 16, 16], s_dim=8, **TINY_MODEL).save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, field: value}))
    with pytest.raises(GaninvError, match=message):
        MVAE.load(str(tmp_path / "m"))


def test_the_evaluation_images_are_read_before_any_step(tmp_path):
    """A wrong --eval-real (here a dataset without --root) failed after the last step, leaving a finished run that
    could be neither started again nor resumed with the missing flag (audit 23b)."""
    np.savez(tmp_path / "train.npz", images=tiny_images(16).numpy())
    result = invoke(
        "mvae", "fit", "--data", tmp_path / "train.npz", "--eval-real", "mnist", "--steps", 2,
        "--out", tmp_path / "run", "--quiet", *STANDALONE_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 2 and "needs --root" in result.stderr, result.output
    assert not (tmp_path / "run").exists()


def test_a_model_trained_on_the_test_split_says_its_figures_are_on_its_training_images(tmp_path, shared_dir):
    """--data mnist --split test trained on the test digits, then scored on the same ones as held out (audit 23b)."""
    result = invoke(
        "mvae", "fit", "--data", "mnist", "--root", shared_dir / "data" / "mnist", "--split", "test", "--limit", 16,
        "--eval-limit", 8, "--steps", 2, "--out", tmp_path / "run", "--quiet", *STANDALONE_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "it trained on the test split: the real.* figures are measured on the training images" in result.stderr


def test_flags_of_the_other_kind_of_mvae_are_refused(tmp_path):
    """Atop a generator --split, --limit and --s-dim were ignored in silence (its figures came from the test split
    whatever --split said), and standalone --lambda-s and --option (audit 23b)."""
    np.savez(tmp_path / "train.npz", images=tiny_images(16).numpy())
    atop = invoke("mvae", "fit", "-g", "builtin:mnist", "--split", "train", "--out", tmp_path / "a", "--steps", 1)
    assert atop.exit_code == 2 and "--split does not apply to an MVAE atop a generator" in atop.stderr, atop.output
    alone = invoke("mvae", "fit", "--data", tmp_path / "train.npz", "--lambda-s", 1, "--out", tmp_path / "b")
    assert alone.exit_code == 2 and "--lambda-s does not apply to a standalone MVAE" in alone.stderr, alone.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_resumed_standalone_run_reads_no_data_folder_it_has_no_fingerprint_of(tmp_path):
    """An edited config.json naming another data folder was read before the refusal (an outside audit, 43c F7): the
    missing fingerprint is refused first."""
    images = tmp_path / "images.npz"
    np.savez(images, images=tiny_images(24).numpy())
    config = MVAEConfig(
        steps=4, batch_size=8, lr=3e-3, log_every=2, checkpoint_every=2, device="cpu", data=str(images), s_dim=6,
        **TINY_MODEL,
    )  # fmt: skip
    train_mvae(config, tmp_path / "run", quiet=True)
    name_unrecorded_folder(tmp_path / "run", "mvae", "data", tmp_path / "never-read")
    elsewhere = dataclasses.replace(config, steps=6, data=str(tmp_path / "never-read"))
    with pytest.raises(RunError, match="records no fingerprint of its data"):
        train_mvae(elsewhere, tmp_path / "run", quiet=True, resume=True)
