"""What a state dict does not store is identified from BatchNorm statistics, assumed out loud, or refused."""

import json
import warnings

import pytest
import torch
from click.testing import CliRunner

import zoo
from ganinv.architectures import AmbiguousWeightsError, AssumptionWarning
from ganinv.cli.main import cli
from ganinv.sources import load_generator, save_generator


def saved(case, tmp_path, module=None):
    module = module or case.build()
    path = tmp_path / f"{case.name}.pth"
    torch.save(module.state_dict(), path)
    return module, str(path)


def assert_author_images(g, case, module):
    latents = zoo.latents_for(case, 10)
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=1e-5)


def sources(g):
    return {d["property"]: d["source"] for d in g.meta["decisions"]}


@pytest.mark.parametrize("case", zoo.IDENTIFIED, ids=lambda c: c.name)
def test_layout_loads_as_its_author_built_it_with_no_options(case, tmp_path):
    module, path = saved(case, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = load_generator(path)
    assert g.meta["architecture"] == case.arch and g.spec.image_shape == case.image_shape
    assert g.spec.n_classes == case.n_classes
    assert_author_images(g, case, module)
    decided = sources(g)
    if case.arch == "dcgan":  # geometry, activation and eps from the statistics; the last stage assumed
        for name in ("geometry", "activation", "norm_eps"):
            assert decided[name].startswith("batchnorm statistics, margin"), (name, decided[name])
        assert decided["output_geometry"].startswith("assumed")
    announced = [str(w.message) for w in caught if issubclass(w.category, AssumptionWarning)]
    assumed = [d for d in g.meta["decisions"] if d["source"].startswith("assumed")]
    assert len(announced) == len(assumed) and all(d["flag"] in m for d, m in zip(assumed, announced))


def test_label_embedding_that_multiplies_z_is_read_from_its_width(tmp_path):
    case = zoo.case("multiply-mlp")
    module, path = saved(case, tmp_path)
    g = load_generator(path)
    assert g.meta["options"]["condition"] == "multiply" and g.spec.nz == 8 and g.spec.n_classes == 10
    assert sources(g)["condition"].startswith("weights")
    assert sources(g)["activation"].startswith("assumed")  # no BatchNorm: nothing tells the activation
    assert_author_images(g, case, module)
    d = torch.full((2, 10), 0.1, requires_grad=True)  # soft one-hot codes stay differentiable
    g(torch.randn(2, 8), d=d).sum().backward()
    assert d.grad.abs().sum() > 0


def test_activation_without_normalisation_is_assumed_and_announced(tmp_path):
    case, options = zoo.ASSUMED["relu-mlp"]
    module, path = saved(case, tmp_path)
    with pytest.warns(AssumptionWarning, match=r"activation leaky_relu: assumed.*--option activation=relu"):
        g = load_generator(path)
    latents = zoo.latents_for(case, 6)
    assert (g.decode(latents) - case.reference(module, latents)).abs().max() > 0.01  # the assumption is wrong here
    g = load_generator(path, options=options)
    assert "activation" not in sources(g)  # given: nothing decided
    assert_author_images(g, case, module)


def test_weak_statistics_that_fit_two_candidates_are_refused_with_both_options(tmp_path):
    many = zoo.Case("many-classes", lambda: zoo.ConditionalDCGAN(n_classes=64, embed=3), "dcgan",
                    image_shape=(1, 32, 32), n_classes=64)
    torch.manual_seed(0)
    module = many.make()
    zoo.calibrate(module, many, batches=1, n=16)  # statistics of one small batch, as after very short training
    _, path = saved(many, tmp_path, module)
    with pytest.raises(AmbiguousWeightsError, match=r"condition_first.*--option condition_first=(True|False) or "
                                                    r"--option condition_first=(True|False)"):
        load_generator(path)
    # The ambiguity is real: with either order given, the first BatchNorm's statistics fit about as well.
    misfits = []
    for first in ("True", "False"):
        g = load_generator(path, options={"condition_first": first})
        net = g.net
        z, d = torch.randn(512, 8, generator=torch.Generator().manual_seed(0)), torch.eye(64)[torch.arange(512) % 64]
        from ganinv.adapters.statedict import MIN_RATIO, bn_discrepancy

        y = net.stages[0].conv(net.head_output(z, d))
        misfits.append(bn_discrepancy(y, net.stages[0].norm))
    assert max(misfits) / min(misfits) < MIN_RATIO


def test_decisions_travel_with_a_saved_generator_and_are_announced_again(tmp_path):
    case = zoo.case("dcgan-28")
    module, path = saved(case, tmp_path)
    g = load_generator(path)
    folder = save_generator(g, tmp_path / "gen")
    config = json.loads((folder / "config.json").read_text())
    assert config["decisions"] == g.meta["decisions"]
    with pytest.warns(AssumptionWarning, match="output_geometry"):
        again = load_generator(str(folder))
    assert again.meta["decisions"] == g.meta["decisions"]
    assert_author_images(again, case, module)


def test_cli_prints_one_warning_line_per_assumption_and_inspect_lists_sources(tmp_path):
    case, _ = zoo.ASSUMED["relu-mlp"]
    _, path = saved(case, tmp_path)
    result = CliRunner().invoke(cli, ["sample", "-g", path, "-n", "4", "--out", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert any("activation leaky_relu" in line and "--option activation=relu" in line for line in lines)
    assert "UserWarning" not in result.stderr and "warnings.warn" not in result.stderr
    quiet = CliRunner().invoke(cli, ["inspect", path, "--option", "activation=relu", "--option", "output=tanh"])
    assert quiet.exit_code == 0 and "Warning:" not in quiet.stderr
    report = CliRunner().invoke(cli, ["inspect", path])
    assert "decided" in report.stdout and "[assumed: LeakyReLU(0.2)" in report.stdout


def test_build_any_names_the_tensors_it_could_not_place(tmp_path):
    case = zoo.case("pytorch-examples-dcgan")
    state = {**case.build().state_dict(), "extra.weight": torch.arange(27.0).view(3, 3, 3)}
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(Exception, match=r"dcgan: tensors that are not .*extra\.weight \(3, 3, 3\)") as info:
        load_generator(str(tmp_path / "extra.pth"))
    assert "--model-class" in str(info.value)
