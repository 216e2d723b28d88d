"""Sources: every file format and nesting loads to the same images; unsafe and bad inputs get clear errors."""

import functools
import json
import re
import warnings
from pathlib import Path

import pytest
import torch
import zoo
from safetensors.torch import save_file
from torch import nn

from ganinv.errors import ArchitectureError, GaninvError, SourceError, SpecMismatchError, UnsafeFileError
from ganinv.sources import load_folder, load_generator, save_generator
from ganinv.spec import GeneratorSpec

CASE = zoo.case("pytorch-examples-dcgan")
FAST = {"strides": "1,2,2,2", "paddings": "0,1,1,1"}  # the geometry given where the search is not the point


@pytest.fixture(scope="module")
def dcgan():
    """(public module, latents, its images) for the pytorch/examples layout."""
    module = CASE.build()
    latents = zoo.latents_for(CASE, 10)
    return module, latents, CASE.reference(module, latents)


def assert_same_images(g, latents, expected):
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-6)


def test_ganinv_folder_round_trip(dcgan, tmp_path):
    module, latents, expected = dcgan
    torch.save(module.state_dict(), tmp_path / "g.pth")
    folder = save_generator(load_generator(str(tmp_path / "g.pth")), tmp_path / "gen")
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "ganinv-generator" and config["options"]["strides"] == [1, 2, 2, 2]
    assert_same_images(load_generator(str(folder)), latents, expected)
    assert_same_images(load_folder(folder, str(folder)), latents, expected)  # the old signature still works


def test_a_ganinv_folder_whose_options_its_weights_do_not_fit_is_refused_before_anything_is_built(dcgan, tmp_path):
    """Audit 36c: an inverter's bundled generator/config.json edited to widths of 10^6 asked for 64 TB ("lower --nz,
    --batch-size, --width", sizes nobody gave); of 3000, it took 1.3 GB and 53 s, then an error naming neither file.
    The recorded options are built on the meta device and compared with the weights first."""
    module, _, _ = dcgan
    torch.save(module.state_dict(), tmp_path / "g.pth")
    folder = save_generator(load_generator(str(tmp_path / "g.pth")), tmp_path / "gen")
    config = json.loads((folder / "config.json").read_text())
    widths = config["options"]["widths"]
    for edited, said in (
        ([10**6] * len(widths), r"config.json's options make no net \(spec field image_shape holds"),
        ([*widths[:-2], 3000, widths[-1]], r"config.json's options make a net whose shapes its weights do not have"),
    ):
        (folder / "config.json").write_text(json.dumps({**config, "options": {**config["options"], "widths": edited}}))
        with pytest.raises(SourceError, match=said):
            load_generator(str(folder))


def test_single_safetensors_in_foreign_layout_with_sidecar_spec(dcgan, tmp_path):
    module, latents, expected = dcgan
    path = tmp_path / "netG.safetensors"  # safetensors sorts keys: main.10 before main.3, order from channels
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    assert_same_images(load_generator(str(path), arch="dcgan"), latents, expected)
    (tmp_path / "netG.json").write_text(json.dumps({"native_output_range": [-2, 2], "native_prior_scale": 0.5}))
    said = r"netG\.json sets native_output_range=\[-2, 2\], native_prior_scale=0\.5 for \S*netG\.safetensors"
    with pytest.warns(UserWarning, match=said):  # a sidecar is applied, and said: it may be another file's
        g = load_generator(str(path))
    assert g.spec.native_output_range == (-2.0, 2.0) and g.meta["spec_overrides"]["native_prior_scale"] == 0.5


@pytest.mark.parametrize("sidecar", ["netG.json", "spec.json"])
def test_a_sidecar_prior_the_batchnorm_statistics_contradict_is_refused_naming_both(dcgan, tmp_path, sidecar):
    """Audit 16: a spec.json saying U(-1, 1) beside a N(0, I) generator (the first BatchNorm read it with margin
    1e3) was applied in silence, and `inspect` showed both priors; a folder's spec.json applies to every file in it."""
    module, latents, expected = dcgan
    path = tmp_path / "netG.pth"
    torch.save(module.state_dict(), path)
    (tmp_path / sidecar).write_text(json.dumps({"native_prior": "uniform", "native_prior_range": [-1, 1]}))
    refused = rf"{sidecar} says native_prior=uniform, native_prior_range=\[-1, 1\], but the BatchNorm statistics .*"
    with pytest.raises(SourceError, match=refused + "read the prior normal"):
        load_generator(str(path))
    g = load_generator(str(path), options={"spec.native_prior": "normal"})  # the user's flag wins over the file
    assert g.spec.native_prior == "normal"
    assert_same_images(g, latents, expected)


def test_a_sidecar_prior_over_an_assumed_one_is_recorded_with_its_range(dcgan, tmp_path):
    """Where the statistics left the prior open, a sidecar's prior is applied and the decision record says which
    prior and from where, range included (it said `uniform`, without the range that makes it a prior)."""
    from ganinv.sources import apply_sidecar

    module = dcgan[0]
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    g = load_generator(str(tmp_path / "netG.pth"))
    assumed = {"property": "prior", "value": "normal", "source": "assumed: nothing tells", "flag": "--prior ..."}
    g.meta["decisions"] = [d for d in g.meta["decisions"] if d["property"] != "prior"] + [assumed]
    (tmp_path / "netG.json").write_text(json.dumps({"native_prior": "uniform", "native_prior_range": [-2, 2]}))
    with pytest.warns(UserWarning, match=r"netG\.json sets native_prior=uniform, native_prior_range=\[-2, 2\]"):
        applied = apply_sidecar(g, tmp_path / "netG.json", {}, "netG.pth")
    assert applied.spec.native_prior == "uniform" and applied.spec.native_prior_range == (-2.0, 2.0)
    record = next(d for d in applied.meta["decisions"] if d["property"] == "prior")
    assert record["value"] == "uniform:-2,2" and record["source"] == f"the spec file {tmp_path / 'netG.json'}"


@pytest.mark.parametrize(
    "wrap,suffix",
    [
        (lambda sd: {"netG": sd, "netD": {"main.0.weight": torch.randn(4, 3, 4, 4)}, "epoch": 5}, ""),
        (
            lambda sd: {
                "state_dict": {**{f"generator.{k}": v for k, v in sd.items()}, "discriminator.w": torch.zeros(2)}
            },
            "",
        ),
        (lambda sd: {f"module.{k}": v for k, v in sd.items()}, ""),  # DataParallel
        (lambda sd: {"ema": {f"module.{k}": v for k, v in sd.items()}, "raw": sd}, "#ema"),
    ],
)
def test_nested_checkpoints_are_unwrapped(dcgan, tmp_path, wrap, suffix):
    module, latents, expected = dcgan
    torch.save(wrap(module.state_dict()), tmp_path / "ckpt.pt")
    assert_same_images(load_generator(str(tmp_path / "ckpt.pt") + suffix), latents, expected)


def test_a_flattened_lightning_state_dict_in_safetensors_is_unwrapped(dcgan, tmp_path):
    """The .pth form `{"state_dict": {"generator.*", "discriminator.*"}}` loaded; flattened into safetensors keys
    `state_dict.generator.*` it was refused (audit 5)."""
    from safetensors.torch import save_file

    module, latents, expected = dcgan
    flat = {f"state_dict.generator.{k}": v.contiguous() for k, v in module.state_dict().items()}
    save_file(
        {**flat, "state_dict.discriminator.main.0.weight": torch.zeros(4, 3, 4, 4)}, str(tmp_path / "g.safetensors")
    )
    assert_same_images(load_generator(str(tmp_path / "g.safetensors")), latents, expected)


def prefixed(sd, prefix):
    return {f"{prefix}{k}": v for k, v in sd.items()}


AVERAGE_LAYOUTS = {  # (online, average) state dicts -> a checkpoint, as public code saves them
    "ema_pytorch": lambda on, av: {
        "initted": torch.tensor(True),
        "step": torch.tensor(900),
        **prefixed(av, "ema_model."),
        **prefixed(on, "online_model."),
    },  # lucidrains' ema_pytorch EMA.state_dict()
    "ema_pytorch_beside_the_model": lambda on, av: {
        "model": on,
        "ema": {"initted": torch.tensor(True), "step": torch.tensor(9), **prefixed(av, "ema_model.")},
    },
    "averaged_model": lambda on, av: {**prefixed(av, "module."), "n_averaged": torch.tensor(10)},  # swa_utils
    "swa_generator": lambda on, av: {
        "generator": on,
        "swa_generator": {**prefixed(av, "module."), "n_averaged": torch.tensor(10)},
    },
    "ema_G": lambda on, av: {"G": on, "ema_G": av},
    "stylegan_Gs": lambda on, av: {"G": on, "D": {"w": torch.zeros(2)}, "Gs": av},  # ProGAN/StyleGAN: G smoothed
    "averaged_generator": lambda on, av: {"generator": on, "averaged_generator": av},
    "lightning_attribute": lambda on, av: {
        "state_dict": {
            **prefixed(on, "model.G."),
            **prefixed(av, "model.G_ema."),
            "model.D.main.0.weight": torch.zeros(4, 3, 4, 4),
        }
    },
    # audit 39a: Lightning EMA callbacks' whole copies (the online weights had loaded, 0.57 from the average)
    "lightning_ema_callback": lambda on, av: {
        "state_dict": {**prefixed(on, "generator."), "discriminator.main.0.weight": torch.zeros(4, 3, 4, 4)},
        "callbacks": {"EMACallback{'decay': 0.999}": {"ema_state_dict": prefixed(av, "generator.")}},
    },
    "lightning_ema_callback_beside_the_critic_alone": lambda on, av: {
        "state_dict": {"discriminator.main.0.weight": torch.zeros(4, 3, 4, 4)},
        "callbacks": {"EMA": {"ema_state_dict": {**prefixed(av, "generator."), "discriminator.w": torch.zeros(2)}}},
    },
    "lightning_weight_averaging": lambda on, av: {  # Lightning's WeightAveraging: the average is the state_dict
        "state_dict": prefixed(av, "generator."),
        "current_model_state": prefixed(on, "generator."),
        "averaging_state": {"n_averaged": torch.tensor(9)},
    },
}


@pytest.mark.parametrize("layout", AVERAGE_LAYOUTS)
def test_the_moving_average_is_found_whatever_its_name_and_wrapper(tmp_path, layout):
    """An outside audit found EMA copies named ema_G, averaged_generator or swa_generator loaded as the online
    weights without a word (images off by 1.6), and ema_pytorch, AveragedModel and a Lightning attribute refused.
    An averaging word beside generator words, in any order, names the average, and wrappers' bookkeeping scalars
    are dropped."""
    online, average = CASE.build(), CASE.build()
    with torch.no_grad():
        for p in average.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
        zoo.calibrate(average, CASE)  # its BatchNorm statistics are its own, as an EMA's buffers are copied
    torch.save(AVERAGE_LAYOUTS[layout](online.state_dict(), average.state_dict()), tmp_path / "ckpt.pt")
    latents = zoo.latents_for(CASE, 6)
    if layout == "averaged_model":  # the file holds the average alone: nothing to choose between
        g = load_generator(str(tmp_path / "ckpt.pt"))
    else:
        said = r"the moving average of the generator's weights|the average that Lightning's WeightAveraging callback"
        with pytest.warns(UserWarning, match=said):
            g = load_generator(str(tmp_path / "ckpt.pt"))
        assert g.meta["ema"] or layout == "lightning_weight_averaging", g.meta  # there the average is state_dict
    assert_same_images(g, latents, CASE.reference(average, latents))


OTHER_COPY_LAYOUTS = {  # (taken, other) state dicts -> a checkpoint holding two copies of one generator
    "netG_best": lambda taken, other: {"netG": taken, "netG_best": other},
    "flat_netG_best": lambda taken, other: {**prefixed(taken, "netG."), **prefixed(other, "netG_best.")},
    "best_model": lambda taken, other: {"model": taken, "best_model": other},
    "lightning_weight_averaging_callback": lambda taken, other: {
        "state_dict": prefixed(taken, "generator."),
        "callbacks": {"StochasticWeightAveraging": {"average_model_state": prefixed(other, "generator.")}},
    },
}


@pytest.mark.parametrize("layout", OTHER_COPY_LAYOUTS)
def test_another_copy_of_the_generator_in_the_checkpoint_is_named(tmp_path, layout):
    """Audit 17a F2: of two complete generators in one checkpoint, the generator-named one was taken and the other
    (the best epoch's, a weight-averaging callback's) never named, images 1.3 apart. It is named, with its #ENTRY;
    the same copy twice (equal values) says nothing."""
    taken, other = CASE.build(seed=0), CASE.build(seed=1)
    torch.save(OTHER_COPY_LAYOUTS[layout](taken.state_dict(), other.state_dict()), tmp_path / "two.pt")
    with pytest.warns(UserWarning, match=r"holds another copy of the same generator with other values.*add #") as said:
        g = load_generator(str(tmp_path / "two.pt"))
    latents = zoo.latents_for(CASE, 6)
    assert_same_images(g, latents, CASE.reference(taken, latents))
    hint = re.search(
        r"add #(\S+) to the source", str(next(w.message for w in said if "another copy" in str(w.message)))
    )
    assert hint is not None
    chosen = load_generator(f"{tmp_path / 'two.pt'}#{hint.group(1)}")
    assert_same_images(chosen, latents, CASE.reference(other, latents))
    same = taken.state_dict()
    same = {k: v + 1 if k.endswith("num_batches_tracked") else v for k, v in same.items()}  # a counter: no image
    torch.save(OTHER_COPY_LAYOUTS[layout](taken.state_dict(), same), tmp_path / "same.pt")
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        load_generator(str(tmp_path / "same.pt"))
    assert not [w for w in quiet if "another copy" in str(w.message)]


def test_a_critic_holding_the_generators_layers_is_no_other_copy(tmp_path):
    """Audit 18: BEGAN's D is an autoencoder whose decoder has G's layers; it was named "another copy of the same
    generator" with `#D.decoder` to load."""
    taken, decoder = CASE.build(seed=0), CASE.build(seed=1)
    began = {"G": taken.state_dict(), "D": {"encoder": {"w": torch.ones(3, 3)}, "decoder": decoder.state_dict()}}
    torch.save(began, tmp_path / "began.pt")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(tmp_path / "began.pt"))
    assert not [w for w in said if "another copy" in str(w.message)]
    latents = zoo.latents_for(CASE, 6)
    assert_same_images(g, latents, CASE.reference(taken, latents))


@pytest.mark.parametrize(
    "layout,never",
    [
        ("ema_pytorch", {"initted": torch.tensor(False), "step": torch.tensor(0)}),
        ("ema_pytorch_beside_the_model", {"initted": torch.tensor(False), "step": torch.tensor(0)}),
        ("swa_generator", {"n_averaged": torch.tensor(0)}),
        ("lightning_ema_callback", {"num_updates": torch.tensor(0)}),  # review 40a: taken, untrained, as the average
        ("lightning_ema_callback", {"num_updates": 0}),  # a callback's count as a Python number
    ],
)
def test_a_moving_average_never_taken_gives_way_to_the_trained_weights(tmp_path, layout, never):
    """Audit 17a F3: an ema_pytorch EMA with initted False (an AveragedModel with n_averaged 0) still holds the copy
    made when it was created; it was loaded as "what its authors sample from", images 0.74 off the trained weights.
    Its own record says so: the trained (online) weights load, said so."""
    trained, initial = CASE.build(seed=0), CASE.build(seed=1)
    ckpt = AVERAGE_LAYOUTS[layout](trained.state_dict(), initial.state_dict())
    holder = ckpt.get("ema") or ckpt.get("swa_generator") or next(iter(ckpt.get("callbacks", {}).values()), ckpt)
    holder.update(never)
    torch.save(ckpt, tmp_path / "ckpt.pt")
    with pytest.warns(UserWarning, match=r"not the moving average .* average was never taken"):
        g = load_generator(str(tmp_path / "ckpt.pt"))
    latents = zoo.latents_for(CASE, 6)
    assert_same_images(g, latents, CASE.reference(trained, latents))


def test_of_two_lightning_ema_callbacks_the_first_is_taken_and_the_other_named(tmp_path):
    """Review 40a: with two EMA callbacks (two decays) the first was taken and the second no longer named."""
    online, first, second = CASE.build(seed=0), CASE.build(seed=1), CASE.build(seed=2)
    callbacks = {
        f"EMACallback{{'decay': {d}}}": {"ema_state_dict": prefixed(m.state_dict(), "generator.")}
        for d, m in ((0.9, first), (0.999, second))
    }
    torch.save({"state_dict": prefixed(online.state_dict(), "generator."), "callbacks": callbacks}, tmp_path / "c.ckpt")
    said = (
        r"using callbacks.EMACallback\{'decay': 0.9\}.ema_state_dict.generator, .*'decay': 0.999.* \(another average\)"
    )
    with pytest.warns(UserWarning, match=said):
        g = load_generator(str(tmp_path / "c.ckpt"))
    latents = zoo.latents_for(CASE, 6)
    assert_same_images(g, latents, CASE.reference(first, latents))


def test_a_lightning_ema_callback_of_the_critic_is_not_taken_for_the_generator(tmp_path):
    """Review 40a: beside a state_dict holding the critic alone, any callback average was taken, unnamed ones too:
    an average of the discriminator was announced as the generator's. Only one named as the generator's is."""
    critic = {"discriminator.main.0.weight": torch.randn(4, 3, 4, 4)}
    ema = {"main.0.weight": torch.randn(4, 3, 4, 4), "main.1.weight": torch.randn(1, 4, 4, 4)}
    torch.save({"state_dict": critic, "callbacks": {"EMA": {"ema_state_dict": ema}}}, tmp_path / "d.ckpt")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(GaninvError):
            load_generator(str(tmp_path / "d.ckpt"))
    assert not [w for w in said if "moving average" in str(w.message)]


@pytest.mark.parametrize("where", ["beside", "lightning_callback", "callback_other_key", "list_beside"])
def test_an_unnamed_moving_average_is_announced_and_the_online_weights_loaded(dcgan, tmp_path, where):
    """diffusers' EMAModel keeps the average as a list without names (shadow_params): it cannot be put on layers
    safely, so the online weights load, said to be the online weights, with how to save the average. Audit 39a:
    torch_ema's, kept by a Lightning callback, was not named; review 40a: nor was a list under another key that says
    it is an average (`ema_weights`), in a callback or beside the generator."""
    module, latents, expected = dcgan
    averaged = [p.detach() * 1.1 for p in module.parameters()]
    ema = {"decay": 0.999, "num_updates": 10, "shadow_params": averaged, "collected_params": None}
    online = module.state_dict()
    checkpoint, entry, average = {
        "beside": ({"generator": online, "ema": ema}, "generator", "ema.shadow_params"),
        "lightning_callback": (
            {"state_dict": online, "callbacks": {"EMACallback": {"ema": ema}}},
            "state_dict",
            "callbacks.EMACallback.ema.shadow_params",
        ),
        "callback_other_key": (
            {"state_dict": online, "callbacks": {"EMA": {"ema_weights": averaged}}},
            "state_dict",
            "callbacks.EMA.ema_weights",
        ),
        "list_beside": ({"generator": online, "ema_params": averaged}, "generator", "ema_params"),
    }[where]
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    with pytest.warns(UserWarning, match=rf"using {entry}, the online weights: the moving average in {average} is a"):
        g = load_generator(str(tmp_path / "ckpt.pt"))
    assert_same_images(g, latents, expected)


def test_the_online_weights_torch_ema_stored_to_restore_are_not_called_an_average(dcgan, tmp_path):
    """torch_ema's `collected_params` are the online weights it stored (store/restore), not an average."""
    module, latents, expected = dcgan
    stored = {"collected_params": [p.detach().clone() for p in module.parameters()]}
    torch.save({"state_dict": module.state_dict(), "callbacks": {"EMA": stored}}, tmp_path / "c.ckpt")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(tmp_path / "c.ckpt"))
    assert not [w for w in said if "moving average" in str(w.message)]
    assert_same_images(g, latents, expected)


@pytest.mark.parametrize(
    "config,loads",
    [
        ({"nz": 8, "ngf": 4}, True),  # true fields: evidence that agrees
        ({"activation": "leaky_relu:0.2"}, False),  # a ReLU net: images off by ~0.6 if taken
        ({"norm_eps": 0.8}, False),
        ({"strides": [1, 2, 2, 2], "paddings": [0, 1, 1, 1], "output_paddings": [0, 1, 0, 0]}, False),
    ],
)
def test_a_config_that_the_batchnorm_statistics_rule_out_is_refused(dcgan, tmp_path, config, loads):
    """An outside audit: a Hub config.json's activation, eps or strides overrode what the statistics decide, and the
    net loaded with other images in silence. A config is evidence: options that make the net misfit the statistics
    3x worse than the weights' own reading (and beyond an author's net) are refused; the user's --option still wins."""
    module, latents, expected = dcgan
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    if loads:
        assert_same_images(load_generator(str(folder)), latents, expected)
        return
    with pytest.raises(ArchitectureError, match=r"config.json and the BatchNorm statistics of the weights .* disagree"):
        load_generator(str(folder))
    user = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in config.items()}
    load_generator(str(folder), options=user)  # typed by the user: taken as given


def leaky_dcgan(slope: float) -> nn.Module:
    """The pytorch/examples DCGAN with LeakyReLU(slope) between stages, its statistics as training leaves them."""
    torch.manual_seed(0)
    module = CASE.make()
    layers = module.main
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.ReLU):
            layers[i] = nn.LeakyReLU(slope)
    zoo.calibrate(module, CASE)
    return module.eval()


@pytest.mark.parametrize(
    "slope,config,assumed",
    [
        (0.1, {"activation": "leaky_relu"}, False),  # the statistics read the slope the word leaves open
        (0.3, {"activation": "LeakyReLU", "negative_slope": 0.3}, False),  # Keras's, given by the config
        (0.01, {"activation": "leaky_relu"}, True),  # PyTorch's default: the statistics cannot tell it from relu
    ],
)
def test_a_configs_leaky_relu_is_the_slope_it_means(tmp_path, slope, config, assumed):
    """An outside audit: a config's `activation: leaky_relu` was taken as ganinv's option of that name, slope 0.2,
    and a net of slope 0.1 or 0.3 (which the statistics identify from the weights alone) loaded 0.22-0.25 off in
    silence, while one of PyTorch's default 0.01 was refused as a wrong config."""
    module = leaky_dcgan(slope)
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(folder))
    latents = zoo.latents_for(CASE, 10)
    assert_same_images(g, latents, CASE.reference(module, latents))
    announced = [str(w.message) for w in said if "says leaky_relu without a slope" in str(w.message)]
    assert bool(announced) == assumed, [str(w.message) for w in said]
    if assumed:
        assert "--option activation=leaky_relu:SLOPE" in announced[0]
        (recorded,) = [d for d in g.meta["decisions"] if d["property"] == "activation"]
        assert recorded["value"] == "leaky_relu:0.01" and recorded["source"].startswith("assumed")


def test_a_configs_leaky_relu_that_the_statistics_rule_out_is_refused(tmp_path):
    """A bare `leaky_relu` in the config of a net whose statistics fit another activation (GELU here) is refused,
    naming both: no slope makes the config's word true."""
    torch.manual_seed(0)
    module = CASE.make()
    for i, layer in enumerate(module.main):
        if isinstance(layer, nn.ReLU):
            module.main[i] = nn.GELU()
    zoo.calibrate(module, CASE)
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"activation": "leaky_relu"}))
    with pytest.raises(ArchitectureError, match=r"says the activation is a leaky ReLU, but .* fit gelu"):
        load_generator(str(folder))


NAN = float("nan")


@pytest.mark.parametrize(
    "config,message",
    [
        ({"nz": 16.7}, "nz=16.7 is not a whole number"),
        ({"nz": NAN}, "nz=nan is not a whole number"),  # the config's NaN is refused as not finite
        ({"nz": [8]}, r"nz=\[8\] is not a whole number"),
        ({"norm_eps": -1}, "norm_eps=-1 must be above 0"),
        ({"strides": 2}, "strides=2 is not a list of whole numbers"),
    ],
)
def test_config_values_of_the_wrong_type_are_refused_naming_them(dcgan, tmp_path, config, message):
    """A Hub config.json's nz of 16.7, NaN or [16], or a negative eps, reached torch as an internal error (audit 7):
    now the config disagrees with the weights, and such a value in code is refused by its type."""
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in dcgan[0].state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    said = "config.json: nz=nan is not a finite number" if config == {"nz": NAN} else "config.json disagrees"
    with pytest.raises(ArchitectureError, match=said):
        load_generator(str(folder))
    with pytest.raises(ArchitectureError, match=message):
        load_generator(str(folder / "model.safetensors"), arch="dcgan", options=config)


def test_a_config_image_size_that_the_weights_alone_would_not_give_is_announced(dcgan, tmp_path):
    """No statistic sees the stages after the last BatchNorm, so a config's image_size of 28 on a 32-pixel DCGAN was
    reached through an unusual padding, in silence (audit 7). The config's side is now said, with the way back."""
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in dcgan[0].state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"image_size": 28}))
    with pytest.warns(
        UserWarning, match=r"config.json makes .* of \(3, 28, 28\) images .* pass --option resolution=32"
    ):
        assert load_generator(str(folder)).spec.image_shape == (3, 28, 28)
    (folder / "config.json").write_text(json.dumps({"image_size": 32}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_generator(str(folder))
    assert not [w for w in caught if "config.json makes" in str(w.message)]


def test_normalisation_layers_without_statistics_are_named_when_nothing_reads_the_file(tmp_path):
    """InstanceNorm(affine) or GroupNorm between the stages: no adapter models them, and the refusal listed every
    adapter's reason without naming them (audit 7)."""
    module = nn.Sequential(
        nn.ConvTranspose2d(8, 16, 4, 1, 0), nn.InstanceNorm2d(16, affine=True), nn.ReLU(),
        nn.ConvTranspose2d(16, 3, 4, 2, 1), nn.Tanh(),
    )  # fmt: skip
    torch.save(module.state_dict(), tmp_path / "g.pth")
    with pytest.raises(
        ArchitectureError,
        match=r"Its 1 hold a weight and a bias but no running statistics: InstanceNorm.*"
        r"or BatchNorm with track_running_stats=False",
    ):
        load_generator(str(tmp_path / "g.pth"))


@pytest.mark.parametrize("slopes", [1, 16])
def test_prelu_layers_are_named_when_nothing_reads_the_file(tmp_path, slopes):
    """A lone 1-D weight between the stages is a PReLU's slope; an outside audit saw them listed only as tensors no
    adapter knows."""
    module = nn.Sequential(
        nn.ConvTranspose2d(8, 16, 4, 1, 0), nn.BatchNorm2d(16), nn.PReLU(slopes),
        nn.ConvTranspose2d(16, 3, 4, 2, 1), nn.Tanh(),
    )  # fmt: skip
    torch.save(module.state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match=r"Its 2 hold one 1-D weight each and nothing else, as PReLU layers"):
        load_generator(str(tmp_path / "g.pth"))


def test_an_empty_generator_source_is_named_as_such():
    with pytest.raises(SourceError, match="the generator source is empty"):
        load_generator("")


def test_ambiguous_checkpoint_asks_for_an_entry(dcgan, tmp_path):
    sd = dcgan[0].state_dict()
    torch.save({"ema": sd, "raw": sd}, tmp_path / "ckpt.pt")
    with pytest.raises(SourceError, match=r"#ENTRY"):
        load_generator(str(tmp_path / "ckpt.pt"))
    with pytest.raises(SourceError, match="no entry 'nope'; its entries: ema, raw"):
        load_generator(str(tmp_path / "ckpt.pt#nope"))


def test_the_online_generator_a_lightning_averages_note_names_is_taken_as_named(dcgan, tmp_path):
    """A Lightning checkpoint's note says "using generator_ema ... not discriminator, generator; add #ENTRY"; typing
    `#generator` had been "no entry 'generator'": it is the one entry of `state_dict` by that name (audit 51a)."""
    module, latents, expected = dcgan
    other = CASE.build(seed=5).state_dict()
    state = {f"generator.{k}": v for k, v in module.state_dict().items()}
    state |= {f"generator_ema.{k}": v for k, v in other.items()} | {"discriminator.w": torch.zeros(2)}
    torch.save({"epoch": 3, "global_step": 30, "state_dict": state}, tmp_path / "last.ckpt")
    with pytest.warns(UserWarning, match="using generator_ema, the moving average"):
        load_generator(str(tmp_path / "last.ckpt"))
    for entry in ("generator", "state_dict.generator"):
        assert_same_images(load_generator(f"{tmp_path / 'last.ckpt'}#{entry}"), latents, expected)
    torch.save({"state_dict": state, "averaged": {"generator.w": torch.zeros(2)}}, tmp_path / "two.ckpt")
    with pytest.raises(
        SourceError, match=r"has 'generator' in 2 entries; name one whole: .*#state_dict\.generator or "
    ):
        load_generator(f"{tmp_path / 'two.ckpt'}#generator")  # two containers hold one: none is guessed


def test_entries_keyed_by_numbers_are_read_and_chosen(dcgan, tmp_path):
    """Audit 17a F5: `{0: netG.state_dict(), 1: netD.state_dict()}` was an internal error, and `#0` "no entry '0'"."""
    module, latents, expected = dcgan
    torch.save({0: module.state_dict(), 1: {}}, tmp_path / "alone.pt")
    assert_same_images(load_generator(str(tmp_path / "alone.pt")), latents, expected)
    torch.save({0: module.state_dict(), 1: {"w": torch.ones(3, 3)}}, tmp_path / "two.pt")
    with pytest.raises(SourceError, match=r"holds entries 0, 1; say which is the generator"):
        load_generator(str(tmp_path / "two.pt"))
    assert_same_images(load_generator(f"{tmp_path / 'two.pt'}#0"), latents, expected)


def test_a_refusal_names_the_entry_it_read(dcgan, tmp_path):
    """`ckpt.pth#netD` was said to be 'ckpt.pth', as if the whole file were read."""
    torch.save({"netG": dcgan[0].state_dict(), "netD": {"main.0.weight": torch.randn(4, 3, 4, 4)}}, tmp_path / "c.pth")
    with pytest.raises(ArchitectureError, match=r"c\.pth#netD holds a network whose first layer convolves"):
        load_generator(str(tmp_path / "c.pth#netD"))


def test_torchscript_with_flags_or_sidecar(dcgan, tmp_path):
    module, latents, expected = dcgan
    torch.jit.trace(module, torch.randn(2, 8, 1, 1)).save(str(tmp_path / "g.ts"))
    with pytest.raises(ArchitectureError, match="--nz"):
        load_generator(str(tmp_path / "g.ts"))
    g = load_generator(str(tmp_path / "g.ts"), options={"spec.nz": "8", "spec.native_latent_shape": "nz,1,1"})
    assert g.spec.image_shape == (3, 32, 32)  # found by running the program
    assert_same_images(g, latents, expected)
    (tmp_path / "spec.json").write_text(json.dumps({"nz": 8, "native_latent_shape": [8, 1, 1]}))
    with pytest.warns(UserWarning, match=r"g.ts is a program: its code ran, and can read and write files as you"):
        assert_same_images(load_generator(str(tmp_path / "g.ts")), latents, expected)  # audit 15: said, once


def test_a_programs_sidecar_spec_and_assumed_prior_are_said(dcgan, tmp_path):
    """Audit 21c: a stray spec.json beside a program (another generator's uniform prior) was applied in silence,
    images 0.81 off; and a program's N(0, I) prior was assumed without a word (a U(-1, 1) program 1.575 off)."""
    module, latents, expected = dcgan
    torch.jit.trace(module, torch.randn(2, 8, 1, 1)).save(str(tmp_path / "g.ts"))
    (tmp_path / "spec.json").write_text(json.dumps({"nz": 8, "native_latent_shape": [8, 1, 1]}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_generator(str(tmp_path / "g.ts"))
    said = [str(w.message) for w in caught]
    assert any(f"{tmp_path / 'spec.json'} gives the spec of {tmp_path / 'g.ts'}: nz=8" in line for line in said), said
    assert any(
        line.startswith("prior normal: assumed: N(0, I) latents") and "--prior uniform:-1,1" in line for line in said
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_generator(str(tmp_path / "g.ts"), options={"spec.native_prior": "uniform"})
    assert not any("prior normal" in str(w.message) for w in caught)  # given: nothing assumed


def test_a_sidecar_whose_nz_and_latent_shape_disagree_is_named_in_the_error(dcgan, tmp_path):
    """Audit 31a F3: the refusal of a sidecar's nz 8 with latent shape 4,1,1 named no file, only the warning above
    it did. Beside a program and beside weights, the error names the sidecar; the user's flag still wins over it."""
    module, latents, expected = dcgan
    torch.jit.trace(module, torch.randn(2, 8, 1, 1)).save(str(tmp_path / "g.ts"))
    torch.save(module.state_dict(), tmp_path / "g.pth")
    (tmp_path / "spec.json").write_text(json.dumps({"nz": 8, "native_latent_shape": [4, 1, 1]}))
    for name in ("g.ts", "g.pth"):
        with pytest.raises(SourceError, match=rf"spec\.json, the spec beside \S*{re.escape(name)}: nz 8 and latent"):
            load_generator(str(tmp_path / name), options=FAST if name == "g.pth" else {})
    g = load_generator(str(tmp_path / "g.ts"), options={"spec.native_latent_shape": "8,1,1"})
    assert_same_images(g, latents, expected)


def test_a_spec_file_cannot_ask_for_latents_or_images_larger_than_any_generators(dcgan, tmp_path):
    """Audit 32a F10: an 18-byte spec.json beside weights, {"nz": 1e8}, was drawn as a probe batch (9 GB) before the
    net refused it. Sizes beyond any generator's are refused as the spec is made, naming the file."""
    torch.save(dcgan[0].state_dict(), tmp_path / "g.pth")
    (tmp_path / "spec.json").write_text(json.dumps({"nz": 10**8, "native_latent_shape": [10**8, 1, 1]}))
    with pytest.raises(
        SourceError,
        match=r"spec\.json sets \(nz, native_latent_shape\): not a valid spec: spec field nz holds 1",
    ):
        load_generator(str(tmp_path / "g.pth"), options=FAST)
    for fields in ({"nz": 10**8}, {"nz": 8, "image_shape": (3, 10**5, 10**5)}, {"nz": 8, "n_classes": 10**7}):
        with pytest.raises(ValueError, match="more than any generator's"):
            GeneratorSpec(**{"image_shape": (1, 8, 8), **fields})


@pytest.mark.parametrize("name", ["netG.pth", "generator.bin", "last.ckpt", "generator.pt"])
def test_a_torchscript_program_named_like_weights_needs_trust(dcgan, tmp_path, name):
    """The file's content, not its name, made it a program: an outside audit ran a TorchScript `netG.pth` with no
    flag, and another (14) a stranger's `generator.pt` that wrote a file. A program named like a state dict (.pt is
    the commonest) is refused without --trust-remote-code (a .pt2 / .ts name is the user's choice of a program)."""
    module, latents, expected = dcgan
    torch.jit.trace(module, torch.randn(2, 8, 1, 1)).save(str(tmp_path / name))
    spec = {"spec.nz": "8", "spec.native_latent_shape": "nz,1,1"}
    with pytest.raises(UnsafeFileError, match=rf"{name} is a TorchScript program \(code\), not the state dict"):
        load_generator(str(tmp_path / name), options=spec)
    assert_same_images(load_generator(str(tmp_path / name), options=spec, trust_remote_code=True), latents, expected)


def test_torch_export_archive_describes_itself(dcgan, tmp_path):
    module, latents, expected = dcgan
    z = torch.randn(4, 8, 1, 1)
    dynamic = torch.export.export(module, (z,), dynamic_shapes={"z": {0: torch.export.Dim("batch", min=1)}})
    torch.export.save(dynamic, str(tmp_path / "dynamic.pt2"))
    g = load_generator(str(tmp_path / "dynamic.pt2"))
    assert g.spec == GeneratorSpec(nz=8, image_shape=(3, 32, 32), native_latent_shape=(8, 1, 1))
    assert_same_images(g, latents, expected)
    z_std = latents.z.clone().requires_grad_(True)
    g(z_std).sum().backward()  # differentiable in z
    assert z_std.grad.abs().sum() > 0
    torch.export.save(torch.export.export(module, (z,)), str(tmp_path / "static.pt2"))
    g = load_generator(str(tmp_path / "static.pt2"))  # batch fixed at 4: 10 latents go in padded chunks
    assert g.net.batch_size == 4
    assert_same_images(g, latents, expected)
    # named like weights it is no state dict: said as a program, not as a damaged file (an outside audit, 53a)
    (tmp_path / "static.pt2").rename(tmp_path / "netG.pth")
    with pytest.raises(UnsafeFileError, match=r"netG\.pth is a torch\.export program \(code\), not the state dict"):
        load_generator(str(tmp_path / "netG.pth"))
    # and runs with the flag, as a TorchScript one named so does (it had been told to rename it: audit 55c)
    assert_same_images(load_generator(str(tmp_path / "netG.pth"), trust_remote_code=True), latents, expected)


def test_conditional_program_with_integer_labels_has_no_differentiable_codes(tmp_path):
    case = zoo.case("conditional-dcgan")
    module = case.build()
    latents = zoo.latents_for(case, 7)
    torch.jit.trace(module, (torch.randn(2, 8, 1, 1), torch.tensor([0, 1]))).save(str(tmp_path / "c.ts"))
    (tmp_path / "c.ts.json").write_text(json.dumps({"nz": 8, "native_latent_shape": [8, 1, 1], "n_classes": 5}))
    g = load_generator(str(tmp_path / "c.ts"))
    assert g.net.inputs == ("z", "labels") and not g.spec.differentiable_codes
    assert_same_images(g, latents, case.reference(module, latents))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"main.0.weight": torch.zeros(1), "payload": zoo.Marker(str(marker))}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeFileError, match="--trust-remote-code"):
        load_generator(str(tmp_path / "evil.pth"))
    assert not marker.exists()
    torch.save(zoo.Marker(str(marker)), tmp_path / "evil.bin")
    (tmp_path / "evil_folder").mkdir()
    torch.save(zoo.Marker(str(marker)), tmp_path / "evil_folder" / "pytorch_model.bin")
    (tmp_path / "evil_folder" / "config.json").write_text("{}")
    for source in ("evil.bin", "evil_folder"):
        with pytest.raises(UnsafeFileError):
            load_generator(str(tmp_path / source))
    assert not marker.exists()


def test_full_pickled_module_runs_its_class_only_with_trust(dcgan, tmp_path):
    module, latents, expected = dcgan
    torch.save(module, tmp_path / "whole.pt")
    from_weights = load_generator(str(tmp_path / "whole.pt"))  # the weights as data, the class never imported
    assert from_weights.meta["architecture"] == "dcgan"
    assert_same_images(from_weights, latents, expected)
    g = load_generator(
        str(tmp_path / "whole.pt"), trust_remote_code=True, options={"spec.nz": 8, "spec.native_latent_shape": "8,1,1"}
    )
    assert g.meta["architecture"] == "opaque"
    assert_same_images(g, latents, expected)


def test_a_trusted_whole_pickled_module_names_its_first_convolution_for_nz(dcgan, tmp_path):
    """--trust-remote-code asked for an --nz the module shows (an outside audit); a first convolution's channels are
    named, not taken: a noise map (N, C, H, W) runs on the same layer as (N, nz, 1, 1) latents do (review 31a: a
    (20, 5, 5) map read as (20, 1, 1) made 16-px images for 80-px ones). The named flags load it exactly."""
    module, latents, expected = dcgan
    torch.save(module, tmp_path / "whole.pt")
    with pytest.raises(ArchitectureError, match=r"its first convolution, main\.0, takes 8 channels: --nz 8 "):
        load_generator(str(tmp_path / "whole.pt"), trust_remote_code=True)
    named = {"spec.nz": 8, "spec.native_latent_shape": "8,1,1"}
    g = load_generator(str(tmp_path / "whole.pt"), trust_remote_code=True, options=named)
    assert_same_images(g, latents, expected)


AUTHOR_MODULE = """
import torch
from torch import nn


class AuthorsGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 48)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, 3, 4, 4)
"""


def test_a_trusted_whole_pickle_imports_its_class_from_the_current_folder(tmp_path, monkeypatch):
    """Its class's module beside the user, as module:callable and --model-class find theirs (an outside audit: "No
    module named 'nets'" from the folder holding nets.py)."""
    import importlib
    import sys

    (tmp_path / "authors_nets.py").write_text(AUTHOR_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(0)
    module = importlib.import_module("authors_nets").AuthorsGenerator().eval()
    torch.save(module, tmp_path / "whole.pt")
    z = torch.randn(4, 6)
    with torch.no_grad():
        expected = module(z)
    monkeypatch.delitem(sys.modules, "authors_nets")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match=r"nz 6: assumed: the input size of the first Linear registered, fc"):
        g = load_generator("whole.pt", trust_remote_code=True)
    assert g.spec.nz == 6 and g.spec.image_shape == (3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(g.net(z, None, None), expected)


def test_a_whole_pickled_module_of_a_script_is_not_sent_to_trust_remote_code(dcgan, tmp_path, caplog):
    """A training script's `torch.save(G)` names `__main__.G`, which no import finds: the load read its weights and
    still said "pass --trust-remote-code to run the class itself", and doing so failed "Can't get attribute 'G' on
    <module '__main__'>" without saying to drop it (audit 30b)."""
    import subprocess
    import sys

    module, latents, expected = dcgan
    torch.save(module.state_dict(), tmp_path / "weights.pt")
    script = (
        "import sys, torch\n"
        f"sys.path.insert(0, {str(Path(zoo.__file__).parent)!r})\n"
        "import zoo\n"
        "class G(zoo.ExamplesDCGAN):\n"
        "    pass\n"
        "g = G(nz=8, ngf=4, nc=3)\n"
        f"g.load_state_dict(torch.load({str(tmp_path / 'weights.pt')!r}))\n"
        f"torch.save(g.eval(), {str(tmp_path / 'whole.pt')!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    with caplog.at_level("WARNING", logger="ganinv"):
        from_weights = load_generator(str(tmp_path / "whole.pt"))
    assert "whole pickled module (__main__.G)" in caplog.text and "--trust-remote-code" not in caplog.text
    assert_same_images(from_weights, latents, expected)
    with pytest.raises(
        SourceError, match=r"defined in the script that saved it \(__main__\).*drop --trust-remote-code"
    ):
        load_generator(str(tmp_path / "whole.pt"), trust_remote_code=True)


class Native(torch.nn.Module):
    """A native module in ganinv's convention: net(z, c, d)."""

    def __init__(self):
        super().__init__()
        self.public = CASE.build()

    def forward(self, z, c=None, d=None):
        return self.public(z)


def make_callable(nz: str = "8"):
    """A module:callable source: returns (native module, spec)."""
    return Native(), GeneratorSpec(nz=int(nz), image_shape=(3, 32, 32), native_latent_shape=(int(nz), 1, 1))


def make_module():
    return CASE.build()


def test_module_callable(dcgan):
    _, latents, expected = dcgan
    assert_same_images(load_generator(f"{__name__}:make_callable", options={"nz": "8"}), latents, expected)
    g = load_generator(f"{__name__}:make_module", options={"spec.nz": "8", "spec.native_latent_shape": "nz,1,1"})
    assert_same_images(g, latents, expected)
    with pytest.raises(SourceError, match="cannot import"):
        load_generator("no_such_module_xyz:make")


def test_an_unbounded_output_is_not_given_a_range_read_off_the_probe(tmp_path):
    """Audit 21c: a generator without a final Tanh (values a little past +-1) was told to pass --output-range
    -1.95,1.39, the min and max of 8 probe images: following it shifted and shrank every image (0.57 off)."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.Unflatten(1, (1, 8, 8)))
    with torch.no_grad():
        module[0].weight.mul_(4)
    torch.jit.trace(module, torch.randn(2, 8)).save(str(tmp_path / "linear.ts"))
    with pytest.raises(SpecMismatchError, match=r"natively, outside.*output is not bounded.*x\.clamp\(-1, 1\)") as e:
        load_generator(str(tmp_path / "linear.ts"), options={"spec.nz": "8"})
    assert "pass --output-range -" not in str(e.value)


def test_output_range_override_is_applied_and_checked(tmp_path):
    case = zoo.case("caogang-gan-mnist")
    module = case.build()
    torch.jit.trace(module, torch.randn(2, 8)).save(str(tmp_path / "sig.ts"))
    options = {"spec.nz": "8", "spec.image_shape": "1,28,28"}
    with pytest.raises(SpecMismatchError, match="--output-range 0,1"):
        load_generator(str(tmp_path / "sig.ts"), options=options)
    g = load_generator(str(tmp_path / "sig.ts"), options={**options, "spec.native_output_range": "0,1"})
    latents = zoo.latents_for(case, 5)
    assert_same_images(g, latents, case.reference(module, latents))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: p / "missing.pth", "no such file or folder"),
        (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "unknown file type"),
        (lambda p: (p / "bad.pth").write_bytes(b"not a checkpoint") and p / "bad.pth", "a text file beginning 'not a"),
        (lambda p: (p / "bin.pth").write_bytes(b"\x07\x00\xffnot a checkpoint") and p / "bin.pth", "cannot read"),
        (lambda p: (p / "cfg").mkdir() or (p / "cfg" / "config.json").write_text("{") and p / "cfg", "no weights file"),
        (
            lambda p: (
                (p / "cfg2").mkdir()
                or save_file({"w": torch.zeros(1)}, str(p / "cfg2" / "model.safetensors"))
                or (p / "cfg2" / "config.json").write_text("{oops")
                and p / "cfg2"
            ),
            "not valid JSON",
        ),
    ],
)
def test_bad_sources_get_one_line_errors(tmp_path, make, match):
    with pytest.raises(GaninvError, match=match) as info:
        load_generator(str(make(tmp_path)))
    assert "\n" not in str(info.value)


def test_a_local_copy_of_a_hub_repo_loads_as_the_repo_does(dcgan, tmp_path):
    """Audit 17a F8: the files that load as `hub:owner/name` were refused from their local copy (`hf download
    --local-dir`): a HugGAN repo's pytorch_model.bin without config.json ("must hold config.json"), a sharded set
    (folder, index or a shard given). A folder is read by the Hub's rules; a lone shard is named as one."""
    module, latents, expected = dcgan
    sd = {k: v.contiguous() for k, v in module.state_dict().items()}
    (tmp_path / "huggan").mkdir()
    torch.save(sd, tmp_path / "huggan" / "pytorch_model.bin")
    (tmp_path / "huggan" / "README.md").write_text("# a DCGAN")
    assert_same_images(load_generator(str(tmp_path / "huggan")), latents, expected)
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    names = sorted(sd)
    half = {
        "model-00001-of-00002.safetensors": names[: len(names) // 2],
        "model-00002-of-00002.safetensors": names[len(names) // 2 :],
    }
    for shard, keys in half.items():
        save_file({k: sd[k] for k in keys}, str(sharded / shard))
    index = {"metadata": {}, "weight_map": {k: shard for shard, keys in half.items() for k in keys}}
    (sharded / "model.safetensors.index.json").write_text(json.dumps(index))
    assert_same_images(load_generator(str(sharded)), latents, expected)
    assert_same_images(load_generator(str(sharded / "model.safetensors.index.json")), latents, expected)
    with pytest.raises(SourceError, match=r"is shard 1 of 2 of a sharded set.*model.safetensors.index.json"):
        load_generator(str(sharded / "model-00001-of-00002.safetensors"))
    renamed = tmp_path / "renamed"  # ganinv's config beside weights renamed: said, not read again and again
    renamed.mkdir()
    save_generator(load_generator(str(tmp_path / "huggan")), tmp_path / "saved")
    (tmp_path / "saved" / "config.json").rename(renamed / "config.json")
    (tmp_path / "saved" / "model.safetensors").rename(renamed / "weights.safetensors")
    with pytest.raises(SourceError, match=r"is ganinv's generator config, but .* holds no model.safetensors"):
        load_generator(str(renamed))
    torch.save(sd, tmp_path / "netG-25-of-50.bin")  # an epoch's whole file, named like no Hub shard (audit 18)
    assert_same_images(load_generator(str(tmp_path / "netG-25-of-50.bin")), latents, expected)
    epochs = tmp_path / "checkpoints"  # a training run's folder: the last epoch's generator, announced
    epochs.mkdir()
    torch.save(CASE.build(seed=3).state_dict(), epochs / "netG_epoch_9.pth")
    torch.save(sd, epochs / "netG_epoch_10.pth")
    with pytest.warns(UserWarning, match=r"using netG_epoch_10.pth.*choose another with .*checkpoints/FILE"):
        assert_same_images(load_generator(str(epochs)), latents, expected)
    script = tmp_path / "script"  # a training script's settings as config.json (audit 18): the way out is named
    script.mkdir()
    torch.save(sd, script / "generator.pth")
    (script / "config.json").write_text(json.dumps({"lr": 2e-4, "nz": 100, "image_size": 64, "ngf": 64}))
    with pytest.raises(ArchitectureError, match=r"not this generator's own config .* give the weights file alone: "):
        load_generator(str(script))
    assert_same_images(load_generator(str(script / "generator.pth")), latents, expected)


def test_torch_save_files_of_any_name_are_read_by_their_contents(tmp_path):
    """Audit 10a: Zeleni9/pytorch-wgan saves `generator.pkl`, Natsu6767's InfoGAN `model_final_MNIST` (no suffix);
    both were "unknown file type" locally, though the same bytes loaded from the Hub as `hub:owner/name:FILE`."""
    case = zoo.case("pytorch-examples-dcgan")
    module = case.build()
    latents = zoo.latents_for(case, 4)
    torch.save(module.state_dict(), tmp_path / "generator.pkl")
    torch.save({"netG": module.state_dict()}, tmp_path / "model_final_MNIST")
    torch.save(module.state_dict(), tmp_path / "legacy.pkl", _use_new_zipfile_serialization=False)
    for name in ("generator.pkl", "model_final_MNIST", "legacy.pkl"):
        g = load_generator(str(tmp_path / name))
        torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=1e-6)
    (tmp_path / "notes.pkl").write_text("not a checkpoint")
    with pytest.raises(SourceError, match="unknown file type.*neither a zip archive nor a pickle"):
        load_generator(str(tmp_path / "notes.pkl"))


def test_loose_tensors_beside_a_generator_entry_do_not_hide_it(tmp_path):
    """Audit 10a: pytorch-gan-collections saves {'net_G', 'net_D', 'optim_G', ..., 'fixed_z': tensor}; the loose
    `fixed_z` was taken for the state dict ("tensors that are not ... layers: .fixed_z") and net_G never named."""
    case = zoo.case("pytorch-examples-dcgan")
    module = case.build()
    critic = {"main.0.weight": torch.randn(4, 3, 4, 4)}
    checkpoint = {
        "net_G": module.state_dict(),
        "net_D": critic,
        "optim_G": {},
        "step": 10,
        "fixed_z": torch.randn(6, 8),
    }
    torch.save(checkpoint, tmp_path / "model.pt")
    g = load_generator(str(tmp_path / "model.pt"))
    assert g.meta["entry"] == "net_G"
    latents = zoo.latents_for(case, 4)
    torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=1e-6)


def test_a_conv2d_among_transposed_convolutions_is_named_as_such(tmp_path):
    """Audit 10a: a last Conv2d(64, 3, 3, 1, 1) (pytorch-gan-collections' DCGAN) was refused as transposed
    convolutions that "do not chain ... takes 3"; it is a Conv2d, which the DCGAN family does not model."""
    net = nn.Sequential(
        nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 3, 3, 1, 1),
        nn.Tanh(),
    )
    torch.save(net.state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match=r"6.weight \(3, 8, 3, 3\) reads as a Conv2d \(8 -> 3 channels\)"):
        load_generator(str(tmp_path / "g.pth"), arch="dcgan")


def test_a_label_branch_beside_z_is_named_as_such(tmp_path):
    """Audit 10a: znxlwm's cDCGAN and cGAN pass z and the label each through a first layer and concatenate them; they
    were refused as layers that "do not chain", with advice (--arch) that cannot help."""
    cdcgan = {
        "deconv1_1.weight": torch.randn(8, 16, 4, 4),
        "deconv1_2.weight": torch.randn(10, 16, 4, 4),
        "deconv2.weight": torch.randn(32, 8, 4, 4),
        "deconv3.weight": torch.randn(8, 1, 4, 4),
    }
    cgan = {
        "fc1_1.weight": torch.randn(16, 8),
        "fc1_2.weight": torch.randn(16, 10),
        "fc2.weight": torch.randn(64, 32),
        "fc3.weight": torch.randn(784, 64),
    }
    for arch, state_dict, layers in (("dcgan", cdcgan, "deconv1_1 and deconv1_2"), ("mlp", cgan, "fc1_1 and fc1_2")):
        torch.save(state_dict, tmp_path / "generator_param.pkl")
        with pytest.raises(ArchitectureError, match=f"{layers} are two branches whose outputs are concatenated"):
            load_generator(str(tmp_path / "generator_param.pkl"), arch=arch)


def damaged_copies(folder, module):
    """{name: path}: a state dict saved each way, then emptied, truncated or overwritten with noise."""
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    torch.save(state, folder / "zip.pth")
    torch.save(state, folder / "legacy.pth", _use_new_zipfile_serialization=False)
    save_file(state, str(folder / "whole.safetensors"))
    paths = {}
    for source in ("zip.pth", "legacy.pth", "whole.safetensors"):
        data = (folder / source).read_bytes()
        for label, body in (
            ("empty", b""),
            ("head", data[:40]),
            ("half", data[: len(data) // 2]),
            ("almost", data[:-7]),
        ):
            paths[f"{label}-{source}"] = folder / f"{label}-{source}"
            paths[f"{label}-{source}"].write_bytes(body)
    paths["noise.safetensors"] = folder / "noise.safetensors"
    paths["noise.safetensors"].write_bytes(
        torch.randint(0, 256, (300,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8).numpy().tobytes()
    )
    return paths


def test_damaged_weights_files_say_so_and_what_to_do(dcgan, tmp_path):
    for name, path in damaged_copies(tmp_path, dcgan[0]).items():
        for arch in (None, "dcgan"):  # the reader fails first, whatever the architecture
            with pytest.raises(SourceError) as info:
                load_generator(str(path), arch=arch)
            message = str(info.value)
            assert str(path) in message and "\n" not in message, message
            if name.startswith("empty"):
                assert "is empty (0 bytes)" in message and "download it again or re-save it" in message
            else:
                assert "truncated or corrupt" in message and "download it again or re-save it" in message, message
    folder = tmp_path / "folder"  # ganinv's own layout and mixin folders read their weights the same way
    save_generator(load_generator(str(tmp_path / "zip.pth")), folder)
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:-100])
    with pytest.raises(SourceError, match=r"model\.safetensors as a safetensors file .*truncated or corrupt"):
        load_generator(str(folder))


def test_a_program_that_ignores_the_batch_size_is_refused(tmp_path):
    class OneImage(torch.nn.Module):  # one image whatever the number of latents
        def forward(self, z):
            return torch.tanh(z[:1].sum()) * torch.ones(1, 1, 8, 8)

    torch.jit.trace(OneImage(), torch.randn(2, 4)).save(str(tmp_path / "one.ts"))
    with pytest.raises(SpecMismatchError, match="returned 1 image.*batch of 8 latents.*--option batch_size=1"):
        load_generator(str(tmp_path / "one.ts"), options={"spec.nz": "4"})
    g = load_generator(str(tmp_path / "one.ts"), options={"spec.nz": "4", "batch_size": "1"})  # called one by one
    latents, images = g.sample(5)
    assert images.shape == (5, 1, 8, 8)
    torch.testing.assert_close(images[:, 0, 0, 0], torch.tanh(latents.z.sum(1)))


def test_bad_arch_and_spec_values(dcgan, tmp_path):
    torch.save(dcgan[0].state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match="unknown architecture 'stylegan'"):
        load_generator(str(tmp_path / "g.pth"), arch="stylegan")
    with pytest.raises(
        SourceError, match=r"--image-shape a,b \(spec.image_shape\): bad value 'a,b'; e.g. --image-shape 1,28,28"
    ):
        load_generator(str(tmp_path / "g.pth"), options={"spec.image_shape": "a,b"})
    with pytest.raises(SourceError, match="unknown spec field 'colour'"):
        load_generator(str(tmp_path / "g.pth"), options={"spec.colour": "red"})
    with pytest.raises(SourceError, match="drop --arch"):
        torch.jit.trace(dcgan[0], torch.randn(2, 8, 1, 1)).save(str(tmp_path / "p.ts"))
        load_generator(str(tmp_path / "p.ts"), arch="dcgan")


def test_a_special_file_is_refused_not_read(tmp_path):
    import os

    import pytest

    from ganinv.errors import SourceError

    fifo = tmp_path / "g.pth"
    os.mkfifo(fifo)  # reading it would wait forever
    with pytest.raises(SourceError, match="is a special file"):
        load_generator(str(fifo))


def test_a_callables_module_without_c_and_d_is_told_the_call(tmp_path, monkeypatch):
    """Audit 10c: a `module:callable` whose module had the usual forward(self, z) was told to check --nz and
    --latent-shape; it is called as module(z, c, d)."""
    (tmp_path / "plain_forward.py").write_text(
        "import torch\n"
        "from ganinv.spec import GeneratorSpec\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(4, 64)\n"
        "    def forward(self, z):\n"
        "        return torch.tanh(self.fc(z)).view(-1, 1, 8, 8)\n"
        "def make():\n"
        "    return Net(), GeneratorSpec(nz=4, image_shape=(1, 8, 8))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SpecMismatchError, match=r"called as module\(z, c, d\).*give its forward c=None and d=None"):
        load_generator("plain_forward:make")


GREY_AND_TWO_INPUT_MODULES = (
    "import torch\n"
    "class Grey(torch.nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = torch.nn.Linear(4, 64)\n"
    "    def forward(self, z):\n"
    "        return torch.tanh(self.fc(z)).view(-1, 8, 8)\n"
    "class TwoInputs(Grey):\n"
    "    def forward(self, noise, labels):\n"
    "        return super().forward(noise + labels.float()[:, None])\n"
    "class Spatial(torch.nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.up = torch.nn.ConvTranspose2d(4, 1, 8)\n"
    "    def forward(self, z):\n"
    "        return torch.tanh(self.up(z))\n"
    "def grey():\n"
    "    return Grey()\n"
    "def two_inputs():\n"
    "    return TwoInputs()\n"
    "def spatial():\n"
    "    return Spatial()\n"
)


def test_a_callables_grey_module_loads_with_the_image_shape_it_is_told(tmp_path, monkeypatch):
    """Audit 21c F8: a bare module returning grey (N, H, W) images was told to give --image-shape C,H,W, and with it
    still refused (only a flat output was reshaped); the advice now names the shape, and following it works."""
    (tmp_path / "user_modules.py").write_text(GREY_AND_TWO_INPUT_MODULES)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ArchitectureError, match=r"returns shape \(2, 8, 8\).*give --image-shape 1,8,8"):
        load_generator("user_modules:grey", options={"spec.nz": 4})
    g = load_generator("user_modules:grey", options={"spec.nz": 4, "spec.image_shape": "1,8,8"})
    z = torch.randn(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(g.net(z), g.net.program(z)[:, None], rtol=0, atol=0)


def test_a_callables_module_of_two_inputs_is_told_what_ganinv_calls(tmp_path, monkeypatch):
    """Audit 21c F10: a bare module with forward(noise, labels) was called with z alone and told to check --nz and
    --latent-shape; the refusal now says it takes two inputs and names the options that say which."""
    (tmp_path / "user_modules.py").write_text(GREY_AND_TWO_INPUT_MODULES)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        ArchitectureError,
        match=r"takes 2 inputs \(\w+, \w+\); ganinv feeds z and.* say which with --option inputs=z,labels",
    ):
        load_generator("user_modules:two_inputs", options={"spec.nz": 4, "spec.image_shape": "1,8,8"})


def test_a_latent_shape_alone_gives_nz(tmp_path, monkeypatch):
    """Audit 21c F11: --latent-shape 4,1,1 without --nz was refused for want of nz; nz,1,1 without --nz was refused
    as a bad value with that very form as the example."""
    (tmp_path / "user_modules.py").write_text(GREY_AND_TWO_INPUT_MODULES)
    monkeypatch.syspath_prepend(str(tmp_path))
    g = load_generator("user_modules:spatial", options={"spec.native_latent_shape": "4,1,1"})
    assert (g.spec.nz, g.spec.native_latent_shape, g.spec.image_shape) == (4, (4, 1, 1), (1, 8, 8))
    with pytest.raises(SourceError, match=r"names nz, which is not given: give --nz N"):
        load_generator("user_modules:spatial", options={"spec.native_latent_shape": "nz,1,1"})


class AttributeDict(dict):
    """Lightning's hyperparameter dict: a dict subclass read by attribute (pickled as a class plus its items)."""

    def __getattr__(self, key):
        return self[key]


def test_a_dict_subclass_beside_the_weights_is_read_as_data(tmp_path):
    """Audit 12: a Lightning-style checkpoint whose `hyper_parameters` is an AttributeDict failed to unpickle at all
    ("'AttributeDict' object does not support item assignment"): its items are now kept as a dict, never imported."""
    case = zoo.case("pytorch-examples-dcgan")
    module = case.build()
    checkpoint = {
        "state_dict": {f"generator.{k}": v for k, v in module.state_dict().items()},
        "hyper_parameters": AttributeDict(lr=0.1, nz=8),
        "epoch": 3,
    }
    torch.save(checkpoint, tmp_path / "last.ckpt")
    g = load_generator(str(tmp_path / "last.ckpt"))
    latents = zoo.latents_for(case, 3)
    torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=1e-6)


@pytest.mark.parametrize("arch", ["dcgan", "wgan_gp"])
@pytest.mark.parametrize(
    "options, said",
    [
        ({"channels": "1"}, r"channels=1 where the weights have 3 \(main\.9\.weight \(4, 3, 4, 4\)\)"),
        (
            {"resolution": "64"},
            "resolution=64 where the weights with strides 1,2,2,2 and paddings 0,1,1,1 make 32-pixel",
        ),
    ],
)
def test_an_option_the_weights_contradict_is_refused_not_dropped(dcgan, tmp_path, arch, options, said):
    """Audit 13b: `--option channels=1` on 3-channel weights, or a resolution the given geometry does not make, was
    replaced by the weights' value in silence; a config's `nc` so fell through to another architecture."""
    torch.save(dcgan[0].state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match=said):
        load_generator(str(tmp_path / "g.pth"), arch=arch, options={**options, **FAST})


def test_a_config_that_contradicts_the_weights_does_not_fall_through_to_another_architecture(dcgan, tmp_path):
    """Audit 13b: `{"nz": 8, "ngf": 4, "nc": 1}` beside 3-channel weights failed as dcgan, then built as wgan_gp
    (which knows nz and nc, not ngf), recording `channels: 1` as taken on a net making 3-channel images."""
    folder = tmp_path / "repo"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in dcgan[0].state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"nz": 8, "ngf": 4, "nc": 1}))
    with pytest.raises(ArchitectureError, match="config.json disagrees with the weights.*channels=1 where the weights"):
        load_generator(str(folder))


def test_an_entry_that_is_an_optimizer_state_is_said_to_be_one(dcgan, tmp_path):
    """Audit 13b: `FILE#optimizerG` answered "holds entries state, param_groups; say which is the generator", as if
    the generator were inside the optimizer's state."""
    module = dcgan[0]
    optimizer = torch.optim.Adam(module.parameters())
    torch.save({"netG": module.state_dict(), "optimizerG": optimizer.state_dict()}, tmp_path / "ck.pth")
    with pytest.raises(SourceError, match=r"ck\.pth: what was read is an optimizer's state \(state, param_groups\)"):
        load_generator(f"{tmp_path / 'ck.pth'}#optimizerG")


def test_a_plain_python_pickle_is_named_as_such_not_as_a_damaged_file(tmp_path):
    """Audit 14: `pickle.dump` of plain data was called "truncated or corrupt": it is neither, just not torch.save's."""
    import pickle

    with open(tmp_path / "g.pkl", "wb") as fh:
        pickle.dump({"main.0.weight": [[1.0, 2.0]]}, fh)
    with pytest.raises(SourceError, match=r"is a plain Python pickle \(pickle.dump\), not a torch.save file"):
        load_generator(str(tmp_path / "g.pkl"))


def test_lightning_hyper_parameters_are_evidence_where_they_are_unambiguous(dcgan, tmp_path):
    """Audit 13b: a Lightning checkpoint's `hyper_parameters` (latent_dim 100 over weights taking 8) loaded in
    silence. The image side is evidence for the geometry; a latent size the weights contradict is said."""
    module, latents, expected = dcgan
    state = {f"generator.{k}": v for k, v in module.state_dict().items()}

    def checkpoint(hparams):
        path = tmp_path / f"c{len(list(tmp_path.iterdir()))}.ckpt"
        torch.save({"state_dict": state, "hyper_parameters": hparams, "pytorch-lightning_version": "2.1.0"}, path)
        return str(path)

    with pytest.warns(UserWarning, match=r"hyper_parameters say latent_dim=100, but the generator's weights take 8"):
        assert_same_images(load_generator(checkpoint({"latent_dim": 100, "lr": 2e-4})), latents, expected)
    g = load_generator(checkpoint({"hparams": {"nz": 8, "img_size": 32}, "width": 32}))  # width: ambiguous, unread
    assert g.meta["config_options"] == {"resolution": 32}
    assert_same_images(g, latents, expected)
    with pytest.raises(ArchitectureError, match=r"Lightning hyper_parameters in .* disagrees with the weights"):
        load_generator(checkpoint({"image_size": 64}))  # four stages from 4x4 that BatchNorms see as doubling


def test_an_exported_programs_float_second_input_is_a_label_or_codes_as_the_user_says(tmp_path):
    """Audit 21c: a torch.export program's float (N, 2) second input (InfoGAN's continuous codes) was read as a
    2-class label: fed integer labels ("tuple index out of range"), or, with nc=2 given, kept as a phantom categorical
    code that no input received and that fit scored."""

    class WithCodes(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(10, 64)

        def forward(self, z, c):
            return torch.tanh(self.lin(torch.cat([z, c], 1))).view(-1, 1, 8, 8)

    torch.manual_seed(0)
    batch = torch.export.Dim("batch", min=1)
    shapes = {"z": {0: batch}, "c": {0: batch}}
    program = torch.export.export(WithCodes().eval(), (torch.randn(4, 8), torch.randn(4, 2)), dynamic_shapes=shapes)
    torch.export.save(program, str(tmp_path / "codes.pt2"))
    with pytest.raises(ArchitectureError, match=r"second input is a float \(2 per latent\).*inputs=z,c --option nc=2"):
        load_generator(str(tmp_path / "codes.pt2"))
    g = load_generator(str(tmp_path / "codes.pt2"), options={"nc": "2", "inputs": "z,c"})
    assert (g.spec.nc, g.spec.n_classes) == (2, 0)
    g = load_generator(str(tmp_path / "codes.pt2"), options={"n_classes": "2", "inputs": "z,onehot"})
    assert (g.spec.nc, g.spec.n_classes) == (0, 2)


def test_an_exported_program_gets_its_labels_in_the_dtype_it_records(tmp_path):
    """An outside audit (41a): a torch.export program traced with int32 labels was fed int64 ones, refused ("Tensor
    dtype mismatch") with advice naming the options already given."""

    class Int32Labels(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.lin = torch.nn.Embedding(3, 8), torch.nn.Linear(8, 64)

        def forward(self, z, labels):
            return torch.tanh(self.lin(z * self.embed(labels.long()))).view(-1, 1, 8, 8)

    torch.manual_seed(0)
    module = Int32Labels().eval()
    batch = torch.export.Dim("batch", min=1)
    example = (torch.randn(4, 8), torch.arange(4, dtype=torch.int32) % 3)
    program = torch.export.export(module, example, dynamic_shapes={"z": {0: batch}, "labels": {0: batch}})
    torch.export.save(program, str(tmp_path / "labels.pt2"))
    g = load_generator(str(tmp_path / "labels.pt2"), options={"n_classes": "3", "inputs": "z,labels"})
    z, labels = torch.randn(5, 8), torch.tensor([0, 1, 2, 1, 0])
    with torch.no_grad():
        torch.testing.assert_close(g(z, None, torch.eye(3)[labels]), module(z, labels.int()))


def test_a_given_output_range_is_not_overruled_by_bright_probe_images(tmp_path):
    """Audit 21c: a Tanh generator whose probe images are all bright (no pixel below the midpoint) was refused as
    "never negative, pass --output-range 0,1" even with the user's own --output-range -1,1."""

    class BrightTanh(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 64)

        def forward(self, z):
            return torch.tanh(self.lin(z).abs() + 0.1).view(-1, 1, 8, 8)

    torch.manual_seed(0)
    torch.jit.trace(BrightTanh(), torch.randn(2, 8)).save(str(tmp_path / "bright.ts"))
    with pytest.raises(SpecMismatchError, match="never negative"):
        load_generator(str(tmp_path / "bright.ts"), options={"spec.nz": "8"})
    g = load_generator(str(tmp_path / "bright.ts"), options={"spec.nz": "8", "spec.native_output_range": "-1,1"})
    assert g.spec.native_output_range == (-1.0, 1.0)


def test_a_generator_that_ignores_its_latents_is_said_to(tmp_path):
    """Audit 21c: a generator giving the same image for every latent loaded without a word; `fit` then stopped on a
    non-finite metric, telling the user to check the inputs."""

    class Collapsed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 64)

        def forward(self, z):
            return torch.tanh(self.lin(torch.zeros_like(z))).view(-1, 1, 8, 8)

    torch.manual_seed(0)
    torch.jit.trace(Collapsed(), torch.randn(2, 8)).save(str(tmp_path / "collapsed.ts"))
    with pytest.warns(UserWarning, match="the generator makes the same image for all 8 probe latents"):
        load_generator(str(tmp_path / "collapsed.ts"), options={"spec.nz": "8"})


# ---- a foreign config's words (ganinv.config_words) -----------------------------------------------------------


def config_folder(tmp_path, module, config, name="repo"):
    """A PyTorchModelHubMixin-style folder: the module's weights and `config` as config.json."""
    folder = tmp_path / name
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def sigmoid_dcgan():
    """(module, its case): the pytorch/examples DCGAN ending in Sigmoid, which no statistic sees."""
    torch.manual_seed(0)
    module = CASE.make()
    module.main[-1] = nn.Sigmoid()
    case = zoo.Case(CASE.name, lambda: module, "dcgan", sigmoid=True)
    zoo.calibrate(module, case)
    return module, case


def loads_quietly_as(source, module, case):
    """Load `source`, assert the module's images, and return what was said."""
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(source))
    latents = zoo.latents_for(case, 10)
    assert_same_images(g, latents, case.reference(module, latents))
    return [str(w.message) for w in said]


def test_a_configs_output_range_is_named_with_the_activation_it_implies(tmp_path):
    """Audit 24b: `output_range: [0, 1]` beside a Sigmoid DCGAN was named as unread with --option KEY=VALUE alone,
    images 0.30 off under the assumed Tanh; the remedy it names now loads the author's images."""
    module, case = sigmoid_dcgan()
    folder = config_folder(tmp_path, module, {"nz": 8, "output_range": [0, 1]})
    with pytest.warns(UserWarning) as said:
        load_generator(str(folder))
    (named,) = [str(w.message) for w in said if "not read by ganinv" in str(w.message)]
    assert (
        "output_range=[0, 1] is a final Sigmoid's range: if the generator ends in one, pass --option output=sigmoid"
        in named
    )
    g = load_generator(str(folder), options={"output": "sigmoid"})
    latents = zoo.latents_for(case, 10)
    assert_same_images(g, latents, case.reference(module, latents))


@pytest.mark.parametrize(
    "config",
    [
        {"final_activation": "Sigmoid"},
        {"out_activation": "sigmoid"},
        {"output_activation": "nn.Sigmoid"},
        {"last_activation": "SIGMOID", "lr": 0.0002},
        {"generator": {"output": "sigmoid", "nz": 8}, "discriminator": {"ndf": 4}},
        {"model": {"generator": {"final_activation": "sigmoid"}}},
    ],
)
def test_a_configs_output_activation_in_other_words_is_read(tmp_path, config):
    """Audit 24b F2: a config saying its generator ends in a Sigmoid, in another codebase's words or in a nested
    generator block, was dropped while the generic "output tanh: assumed" line was printed: images 0.30 off."""
    module, case = sigmoid_dcgan()
    said = loads_quietly_as(config_folder(tmp_path, module, config), module, case)
    assert not [s for s in said if "output tanh: assumed" in s], said
    # taken, and said with where it came from: no statistic checks it (a training script's word: audit 55c)
    assert [s for s in said if "output sigmoid: from" in s and "--option output=tanh|none" in s], said


def test_a_checkpoints_pickled_words_are_named_with_their_option_not_applied(dcgan, tmp_path):
    """Audit 24b F2 / 25a F2, F4: a Lightning checkpoint's hyper_parameters and an argparse Namespace are the whole
    training module's arguments, the discriminator's included. Applied, a discriminator's `final_activation:
    sigmoid` built a Tanh generator 0.30 off in silence, and `upsample_mode: bilinear` refused a ConvTranspose
    generator past any option; they are named with the option to pass, and that option loads a Sigmoid one."""
    import argparse

    module, latents, expected = dcgan
    state = module.state_dict()
    lightning = {"state_dict": {f"generator.{k}": v for k, v in state.items()}, "pytorch-lightning_version": "2.1.0"}
    hparams = {"latent_dim": 8, "final_activation": "sigmoid", "upsample_mode": "bilinear", "z_distribution": "rand"}
    torch.save({**lightning, "hyper_parameters": hparams}, tmp_path / "l.ckpt")
    args = argparse.Namespace(nz=8, output="sigmoid", upsample="bilinear", outf="./out")
    torch.save({"netG": state, "args": args}, tmp_path / "n.pth")
    for name, listed in (
        ("l.ckpt", "final_activation='sigmoid', upsample_mode='bilinear', z_distribution='rand' are not read"),
        ("n.pth", "output='sigmoid', upsample='bilinear' are not read"),
    ):
        with pytest.warns(UserWarning) as said:
            assert_same_images(load_generator(str(tmp_path / name)), latents, expected)
        (named,) = [str(w.message) for w in said if "not read by ganinv" in str(w.message)]
        assert listed in named and "the generator's or the discriminator's" in named, named
        assert "--option output=sigmoid" in named and "--model-class" in named, named
    assert "--prior uniform:0,1" in named or name == "n.pth"

    sigmoid, case = sigmoid_dcgan()
    state = sigmoid.state_dict()
    torch.save({"netG": state, "args": argparse.Namespace(nz=8, output="sigmoid")}, tmp_path / "s.pth")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(tmp_path / "s.pth"), options={"output": "sigmoid"})
    assert_same_images(g, zoo.latents_for(case, 10), case.reference(sigmoid, zoo.latents_for(case, 10)))
    assert not [w for w in said if "not read by ganinv" in str(w.message)]  # the option given: nothing to say
    torch.save({"netG": state, "opt": argparse.Namespace(output="./samples")}, tmp_path / "folder.pth")  # a folder
    g = load_generator(str(tmp_path / "folder.pth"))  # a script's --output folder is no word: the weights decide
    assert g.meta["options"]["output"] == "tanh"


def test_a_configs_channels_last_and_latent_distribution_are_read(tmp_path):
    """Audit 24b F2: `data_format: channels_last` beside a Keras-port MLP (images 0.73 off) and `z_distribution:
    uniform` beside a generator no BatchNorm statistic reads the prior of were dropped, each assumed otherwise."""
    torch.manual_seed(0)
    body = nn.Sequential(*zoo.mlp_block(8, 16, False), *zoo.mlp_block(16, 32), nn.Linear(32, 3 * 4 * 4), nn.Tanh())

    class ChannelsLast(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = body

        def forward(self, z):
            return self.model(z).view(len(z), 4, 4, 3).permute(0, 3, 1, 2)

    module = ChannelsLast()
    case = zoo.Case("keras-port", lambda: module, "mlp", image_shape=(3, 4, 4), z_4d=False)
    zoo.calibrate(module, case)
    config = {"latent_dim": 8, "img_shape": [3, 4, 4], "data_format": "channels_last"}
    said = loads_quietly_as(config_folder(tmp_path, module, config), module, case)
    assert not [s for s in said if "image_layout chw: assumed" in s], said

    torch.manual_seed(0)
    plain = nn.Module()  # pytorch/examples' layout without BatchNorm: no statistic reads the prior
    plain.main = nn.Sequential(
        *(nn.ConvTranspose2d(8, 8, 4, 1, 0, bias=False), nn.ReLU(), nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False)),
        *(nn.ReLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1, bias=False), nn.Tanh()),
    )
    g = load_generator(str(config_folder(tmp_path, plain, {"nz": 8, "z_distribution": "Uniform"}, "plain")))
    assert (g.spec.native_prior, g.spec.native_prior_range) == ("uniform", (-1.0, 1.0))


def test_a_config_naming_an_upsampling_is_read_or_refused_where_the_net_upsamples(dcgan, tmp_path):
    """Audit 24b F2: `upsample: bilinear` beside a bilinear net was read as nearest upsampling, a statistics misfit
    warning at most (images 0.24 off). Audit 25a F3: beside a ConvTranspose net, which upsamples nowhere, the field
    is not the generator's: it was refused; it is named as unread."""
    case = zoo.case("pytorch-gan-dcgan")
    torch.manual_seed(0)
    upconv = case.make()
    zoo.calibrate(upconv, case)
    folder = config_folder(tmp_path, upconv, {"latent_dim": 8, "upsample": "area"}, "upconv")
    with pytest.raises(ArchitectureError, match=r"unknown upsampling word 'area' in \S*config.json's upsample; ganinv"):
        load_generator(str(folder))
    bicubic = case.make()  # built since audit 55a: the config's word is read
    for layer in bicubic.modules():
        if isinstance(layer, nn.Upsample):
            layer.mode = "bicubic"
    zoo.calibrate(bicubic, case)
    g = load_generator(str(config_folder(tmp_path, bicubic, {"latent_dim": 8, "upsample": "bicubic"}, "bicubic")))
    assert g.meta["options"]["upsample"] == "bicubic"
    assert_same_images(g, zoo.latents_for(case, 4), case.reference(bicubic, zoo.latents_for(case, 4)))
    bilinear, _ = zoo.bilinear_pytorch_gan_dcgan()  # the adapter builds bilinear upsampling: the config says which
    for field in ("upsample", "upsample_mode"):
        folder = config_folder(tmp_path, bilinear, {"latent_dim": 8, field: "bilinear"}, f"bilinear-{field}")
        assert load_generator(str(folder)).meta["options"]["upsample"] == "bilinear"
    module, latents, expected = dcgan
    folder = config_folder(tmp_path, module, {"nz": 8, "upsample_mode": "bilinear"})
    with pytest.warns(UserWarning, match=r"config.json's upsample_mode='bilinear' is not read by ganinv"):
        assert_same_images(load_generator(str(folder)), latents, expected)


@pytest.mark.parametrize(
    "config,unread",
    [
        ({"normalization": "spectral"}, "normalization='spectral'"),
        ({"norm_type": "spectral_norm"}, "norm_type='spectral_norm'"),
        ({"normalization": [0.5, 0.5, 0.5]}, "normalization=[0.5, 0.5, 0.5]"),
        ({"normalization": True}, "normalization=True"),
        ({"z_distribution": "truncated_normal"}, "z_distribution='truncated_normal'"),
        ({"norm": "batch", "normalization": "none"}, "normalization='none'"),
        ({"normalization": "none", "norm": "batch"}, "normalization='none'"),
        ({"output": "tanh", "final_activation": "sigmoid"}, "final_activation='sigmoid'"),
        ({"final_activation": "hardtanh"}, "final_activation='hardtanh'"),
    ],
)
def test_a_foreign_named_field_ganinv_cannot_read_is_named_not_refused(dcgan, tmp_path, config, unread):
    """Audit 25a F3: config.json folders that loaded exactly before were refused: `normalization: spectral` (a
    weight parametrization ganinv folds), `[0.5, 0.5, 0.5]` or `true` (the input's normalization), `z_distribution:
    truncated_normal`, `norm: batch` beside `normalization: none` ("gives norm twice"). Under another codebase's
    name an unknown word or a non-string is unread, and one beside ganinv's own name gives way to it: named."""
    module, latents, expected = dcgan
    with pytest.warns(UserWarning) as said:
        assert_same_images(load_generator(str(config_folder(tmp_path, module, {"nz": 8, **config}))), latents, expected)
    (named,) = [str(w.message) for w in said if "not read by ganinv" in str(w.message)]
    assert f"config.json's {unread} is not read by ganinv" in named, named


@pytest.mark.parametrize(
    "config,options",
    [
        ({"norm": "spectral"}, {"norm": "batch"}),
        ({"G": {"norm": "spectral"}}, {"norm": "batch"}),
        ({"prior": "truncated_normal"}, {"spec.native_prior": "normal"}),
        ({"output": "hardtanh"}, {"output": "tanh"}),
    ],
)
def test_the_option_a_refusal_names_gets_past_it(dcgan, tmp_path, config, options):
    """Audit 25a F3: "choose with --option norm=NAME" and "give the prior with --prior normal" repeated the same
    refusal: the config's word was read before the user's options. The user's option wins, as every option does."""
    module, latents, expected = dcgan
    folder = config_folder(tmp_path, module, {"nz": 8, **config})
    with pytest.raises(ArchitectureError, match="unknown"):
        load_generator(str(folder))
    assert_same_images(load_generator(str(folder), options=options), latents, expected)


def test_a_configs_architectural_fields_left_unread_are_named(dcgan, tmp_path):
    """Audit 24b F2/F7: fields that describe the generator but that ganinv does not read (`output_range`, an
    unmapped activation field) were recorded in the metadata alone; a training script's fields stay unsaid."""
    module, latents, expected = dcgan
    config = {"nz": 8, "output_range": [-1, 1], "act_fn": "relu", "output_dir": "runs", "lr": 0.0002}
    with pytest.warns(UserWarning) as said:
        assert_same_images(load_generator(str(config_folder(tmp_path, module, config))), latents, expected)
    (named,) = [str(w.message) for w in said if "not read by ganinv" in str(w.message)]
    assert "config.json's output_range=[-1, 1], act_fn='relu' are not read by ganinv" in named
    assert "pass --option KEY=VALUE (dcgan's: activation, norm, norm_eps, output, prior" in named


@pytest.mark.parametrize(
    "activation,config",
    [
        (nn.ReLU, {"activation": "ReLU", "norm": "BatchNorm2d"}),
        (nn.ReLU, {"activation": "nn.ReLU()", "norm": "bn"}),
        (nn.SiLU, {"activation": "swish", "norm": "batch_norm"}),
    ],
)
def test_a_configs_spelling_of_ganinvs_words_agrees_with_the_weights(tmp_path, activation, config):
    """Audit 24b F4: `ReLU`, `swish`, `batchnorm` were reported as contradicting weights that have relu, silu and
    batch: "Fix the config"."""
    torch.manual_seed(0)
    module = CASE.make()
    for i, layer in enumerate(module.main):
        if isinstance(layer, nn.ReLU):
            module.main[i] = activation()
    zoo.calibrate(module, CASE)
    loads_quietly_as(config_folder(tmp_path, module, {"nz": 8, **config}), module, CASE)


@pytest.mark.parametrize(
    "config,refused",
    [
        ({"activation": "PReLU"}, r"unknown activation word 'PReLU' in \S*config.json's activation; ganinv's are relu"),
        ({"output": "hardtanh"}, r"unknown output activation word 'hardtanh' in \S*config.json's output"),
        ({"norm": "spectral"}, r"unknown norm word 'spectral' in \S*config.json's norm"),
    ],
)
def test_a_config_word_ganinv_does_not_know_is_named_as_such(dcgan, tmp_path, config, refused):
    """Audit 24b F4: a word ganinv does not know is not a contradiction of the weights."""
    with pytest.raises(ArchitectureError, match=refused):
        load_generator(str(config_folder(tmp_path, dcgan[0], config)))


def test_persson_features_g_is_no_width(tmp_path):
    """Audit 24b F5: aladdinpersson's `features_g` is half the last hidden stage's channels; read as the width, his
    own kwargs were called a contradiction of the weights (which alone load exactly)."""
    torch.manual_seed(0)
    module = CASE.make()  # ngf 4: Persson's features_g 2
    zoo.calibrate(module, CASE)
    config = {"channels_noise": 8, "channels_img": 3, "features_g": 2}
    loads_quietly_as(config_folder(tmp_path, module, config), module, CASE)


@pytest.mark.parametrize("word", ["gaussian", "Normal", "randn"])
def test_a_configs_prior_in_other_words_is_read_and_an_unknown_one_named(dcgan, tmp_path, word):
    """Audit 24b F6: `"prior": "gaussian"` was an internal KeyError."""
    module, latents, expected = dcgan
    assert_same_images(load_generator(str(config_folder(tmp_path, module, {"prior": word}))), latents, expected)
    folder = config_folder(tmp_path, module, {"prior": "laplace"}, "laplace")
    accepted = r"'laplace' in \S*config.json's prior; accepted: normal \(gaussian, randn\), uniform"
    with pytest.raises(ArchitectureError, match=r"unknown latent prior word " + accepted):
        load_generator(str(folder))


@pytest.mark.parametrize(
    "config,refused",
    [
        ({"z_dim": 16, "latent_dim": 8}, "gives nz twice, as z_dim=16 and latent_dim=8"),
        ({"latent_dim": 8, "z_dim": 16}, "gives nz twice, as latent_dim=8 and z_dim=16"),
        ({"output_activation": "tanh", "final_activation": "sigmoid"}, "gives output twice, as output_activation="),
        ({"z_dim": 8, "latent_dim": 8, "prior": "normal", "z_distribution": "gaussian"}, None),  # the same twice
    ],
)
def test_two_fields_of_one_option_that_differ_are_refused_naming_both(dcgan, tmp_path, config, refused):
    """Audit 24b F7: `{"z_dim": 16, "latent_dim": 8}` loaded in silence (the one written last won), the other order
    was refused as the weights' disagreement with nz=16 alone."""
    module, latents, expected = dcgan
    folder = config_folder(tmp_path, module, config)
    if refused is None:
        assert_same_images(load_generator(str(folder)), latents, expected)
        return
    with pytest.raises(ArchitectureError, match=re.escape(refused)):
        load_generator(str(folder))


def residual_generator(shortcut: bool) -> dict:
    """Keys and shapes of a small ResNet generator: igul222's WGAN-GP port (a `conv_shortcut`) or an SNGAN port
    (blocks of `conv1` and `conv2`, no shortcut named), with BatchNorm statistics."""
    torch.manual_seed(0)
    sd = {"ln1.weight": torch.randn(64, 8), "ln1.bias": torch.randn(64)}
    for b in (1, 2):
        block = f"rb{b}" if shortcut else f"model.{b}"
        for i in (1, 2):
            sd[f"{block}.bn{i}.weight"], sd[f"{block}.bn{i}.bias"] = torch.rand(4) + 0.5, torch.randn(4)
            sd[f"{block}.bn{i}.running_mean"], sd[f"{block}.bn{i}.running_var"] = torch.randn(4), torch.rand(4) + 0.5
            sd[f"{block}.conv{i}.weight"], sd[f"{block}.conv{i}.bias"] = torch.randn(4, 4, 3, 3), torch.randn(4)
        if shortcut:
            sd[f"{block}.conv_shortcut.weight"] = torch.randn(4, 4, 1, 1)
    sd["final.weight"], sd["final.bias"] = torch.randn(3, 4, 3, 3), torch.randn(3)
    return sd


def test_a_folder_or_record_from_before_upsample_was_read_keeps_nearest(tmp_path):
    """Review 37a F1: a ganinv folder or an inverter's generator record saved before `upsample` was an option holds
    none; the statistics then read a bilinear net as bilinear, and the generator its inverter was fitted on (nearest,
    the only reading then) changed under it, 0.29 off, in silence. Such records keep the reading they were made on."""
    from ganinv.generator_reference import with_fitted_readings

    module, case = zoo.bilinear_pytorch_gan_dcgan()
    torch.save(module.state_dict(), tmp_path / "g.pth")
    g = load_generator(str(tmp_path / "g.pth"))
    assert g.meta["options"]["upsample"] == "bilinear"
    folder = save_generator(g, tmp_path / "saved")
    config = json.loads((folder / "config.json").read_text())
    del config["options"]["upsample"]  # as ganinv wrote it before
    (folder / "config.json").write_text(json.dumps(config))
    assert load_generator(str(folder)).meta["options"]["upsample"] == "nearest"
    meta = {"architecture": "upconv", "options": {k: v for k, v in g.meta["options"].items() if k != "upsample"}}
    assert with_fitted_readings({"options": {}, "meta": meta}) == {"upsample": "nearest"}


def mimicry_generator() -> dict:
    """Keys of torch_mimicry's SNGAN generator: l1, blocks block2.. of b1, c1, b2, c2 and a shortcut c_sc, b5, c5."""
    torch.manual_seed(0)
    sd = {"l1.weight": torch.randn(64, 8), "l1.bias": torch.randn(64)}
    for b in (2, 3):
        for i in (1, 2):
            sd[f"block{b}.b{i}.weight"], sd[f"block{b}.b{i}.bias"] = torch.rand(4) + 0.5, torch.randn(4)
            sd[f"block{b}.b{i}.running_mean"], sd[f"block{b}.b{i}.running_var"] = torch.randn(4), torch.rand(4) + 0.5
            sd[f"block{b}.c{i}.weight"], sd[f"block{b}.c{i}.bias"] = torch.randn(4, 4, 3, 3), torch.randn(4)
        sd[f"block{b}.c_sc.weight"], sd[f"block{b}.c_sc.bias"] = torch.randn(4, 4, 1, 1), torch.randn(4)
    sd["c5.weight"], sd["c5.bias"] = torch.randn(3, 4, 3, 3), torch.randn(3)
    return sd


def stability_generator() -> dict:
    """Keys of LMescheder/GAN_stability's resnet2 generator: fc, then resnet_i_j blocks of conv_0, conv_1 (and conv_s
    where the width changes), conv_img."""
    torch.manual_seed(0)
    sd = {"fc.weight": torch.randn(64, 8), "fc.bias": torch.randn(64)}
    for i in (0, 1):
        for j in (0, 1):
            block = f"resnet_{i}_{j}"
            sd[f"{block}.conv_0.weight"], sd[f"{block}.conv_0.bias"] = torch.randn(4, 4, 3, 3), torch.randn(4)
            sd[f"{block}.conv_1.weight"], sd[f"{block}.conv_1.bias"] = torch.randn(4, 4, 3, 3), torch.randn(4)
    sd["conv_img.weight"], sd["conv_img.bias"] = torch.randn(3, 4, 3, 3), torch.randn(3)
    return sd


@pytest.mark.parametrize(
    "state_dict,what",
    [
        (residual_generator(shortcut=True), "residual blocks"),
        (mimicry_generator(), "residual blocks"),  # audit 36a: torch_mimicry names c1, c2 and c_sc
        (stability_generator(), "residual blocks"),  # audit 53b: GAN_stability's resnet_i_j.conv_0, conv_1, conv_s
        (
            {
                **residual_generator(shortcut=False),
                "attn1.gamma": torch.zeros(1),
                "attn1.query_conv.weight": torch.randn(1, 4, 1, 1),
            },
            "self-attention layers",
        ),
    ],
)
def test_residual_and_attention_generators_are_named_with_the_code_that_loads_them(tmp_path, state_dict, what):
    """An outside audit: ResNet WGAN-GP, SNGAN and SAGAN generators got "cannot tell the architecture; pass --arch",
    which no --arch satisfies. They are named, with the ways to load them through their own code."""
    torch.save(state_dict, tmp_path / "G.pth")
    with pytest.raises(ArchitectureError, match=rf"holds a generator (built of|with) {what}.*-g module:callable"):
        load_generator(str(tmp_path / "G.pth"))


def test_a_scalar_named_sc_is_no_residual_block(tmp_path):
    """Review 37a: a DCGAN's learned scalar `sc` (or an MLP's `skip` layer) made a refusal for another reason say
    "residual blocks", hiding what each adapter tried."""
    module = zoo.case("pytorch-examples-dcgan").build()
    torch.save({**module.state_dict(), "sc": torch.ones(()), "extra.weight": torch.randn(3, 5)}, tmp_path / "G.pth")
    with pytest.raises(ArchitectureError) as refused:
        load_generator(str(tmp_path / "G.pth"))
    assert "residual blocks" not in str(refused.value), str(refused.value)


def test_a_safetensors_file_of_more_tensors_than_any_generator_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """Audit 34a F7: a 69 MB header of a million empty tensors took 2.1 GB and 38 s before any refusal."""
    from ganinv import weight_files

    monkeypatch.setattr(weight_files, "MAX_TENSORS", 10)
    save_file({f"t{i}": torch.zeros(0) for i in range(11)}, str(tmp_path / "many.safetensors"))
    with pytest.raises(
        SourceError, match=r"many\.safetensors lists about 11 tensors, more than any generator's \(10\)"
    ):
        load_generator(str(tmp_path / "many.safetensors"))
    # the keys spelt with JSON escapes, which the safetensors reader decodes (an outside audit, 53a)
    raw = (tmp_path / "many.safetensors").read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = raw[8 : 8 + size].replace(b'"dtype"', b'"\\u0064type"')
    (tmp_path / "escaped.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + raw[8 + size :])
    with pytest.raises(SourceError, match=r"escaped\.safetensors lists about 11 tensors"):
        load_generator(str(tmp_path / "escaped.safetensors"))
    with open(tmp_path / "sparse.safetensors", "wb") as sparse:  # a header of 150 MB, 4 KB on disk: read whole to
        sparse.write((150 * 10**6).to_bytes(8, "little") + b"{}")  # count, a 2 GB one cost 2.7 GB (audit 55c)
        sparse.truncate(150 * 10**6 + 8)
    with pytest.raises(SourceError, match=r"sparse\.safetensors declares a header of 150,000,000 bytes"):
        load_generator(str(tmp_path / "sparse.safetensors"))
    (tmp_path / "short.safetensors").write_bytes(b"abcd")  # shorter than the header's length: named, as before (review)
    with pytest.raises(SourceError, match=r"short\.safetensors is a text file beginning 'abcd'"):
        load_generator(str(tmp_path / "short.safetensors"))


@pytest.mark.parametrize("arch", ["upconv", "mlp"])
def test_a_refusal_of_the_architecture_typed_names_the_ways_out(tmp_path, arch):
    """`--arch upconv` on weights it does not read was refused with no way out named (an outside audit)."""
    case = zoo.case("pytorch-examples-dcgan")
    torch.save(case.build().state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match=rf"if --arch {arch} is not its architecture, drop it .*--model-class"):
        load_generator(str(tmp_path / "g.pth"), arch=arch)


def test_statistics_that_lag_the_weights_do_not_overrule_a_config(monkeypatch):
    """The pickled layers of a 30-batch checkpoint, exactly the author's, were refused as disagreeing with statistics
    that lagged the weights (an outside audit): where the weights look saved early and none of their own readings fits
    as an author's net does, the config is taken, said. Exact statistics of few batches still refuse it (a review:
    update_bn's 50 batches)."""
    from types import SimpleNamespace

    from ganinv import architectures
    from ganinv.sources import from_weights

    def built(misfit):
        return SimpleNamespace(decisions=[{"property": "statistics", "misfit": misfit}], spec=None)

    state = {"bn.num_batches_tracked": torch.tensor(58), "bn.running_var": torch.full((4,), 0.9**58 + 0.01)}
    check = functools.partial(from_weights.check_config_against_statistics, "dcgan", {"activation": "elu"}, {})
    for alone, early in ((0.02, True), (0.0002, False)):  # the weights' own reading: lagging, or exact
        monkeypatch.setattr(architectures, "build_generator_net", lambda *args, m=alone: (built(m), None))
        monkeypatch.setattr(architectures, "options_to_dict", lambda options: {"activation": "relu"})
        if early:
            with pytest.warns(UserWarning, match="count only 58 training batches, so their running averages lag"):
                check(state, None, built(0.2), "g.pth", "the layers pickled in g.pth")
        else:
            with pytest.raises(ArchitectureError, match="disagree"):
                check(state, None, built(0.2), "g.pth", "the layers pickled in g.pth")
    trained = {**state, "bn.num_batches_tracked": torch.tensor(10_000)}
    monkeypatch.setattr(architectures, "build_generator_net", lambda *args: (built(0.02), None))
    with pytest.raises(ArchitectureError, match="disagree"):
        check(trained, None, built(0.2), "g.pth", "the layers pickled in g.pth")


def test_a_hash_in_a_path_is_part_of_the_path(tmp_path, monkeypatch):
    """`run#2/netG.pth` was read as `run` with entry `2/netG.pth`: with a folder `run` beside it, another generator,
    recorded under the typed name (an outside audit). A path that exists as typed is that path; an entry follows a
    `#` only where the path before it exists; a name that is both a file and a checkpoint's entry is refused."""
    case = zoo.case("pytorch-examples-dcgan")
    for folder, seed in (("run#2", 5), ("run", 0)):
        (tmp_path / folder).mkdir()
        torch.save(case.build(seed).state_dict(), tmp_path / folder / "netG.pth")
    monkeypatch.chdir(tmp_path)
    z = torch.randn(3, case.nz, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hashed, plain = (load_generator(s)(z) for s in ("run#2/netG.pth", "run/netG.pth"))
        torch.testing.assert_close(load_generator("run#2")(z), hashed)
    assert not torch.allclose(hashed, plain)
    (tmp_path / "run" / "netG.pth#G").write_bytes(b"")  # a checkpoint G's entry, or a file of that name?
    with pytest.raises(SourceError, match="names both a file or folder of that name and entry 'G' of run/netG.pth"):
        load_generator("run/netG.pth#G")


def test_a_missing_file_with_a_colon_imports_nothing(tmp_path, monkeypatch):
    """`model:v2.pth`, a mistyped file name, imported `model.py` of the current folder (an outside audit); a file's
    path before the colon was an internal TypeError; pasted addresses were read as modules ("No module named 'hf'")."""
    (tmp_path / "model.py").write_text("open('IMPORTED', 'w').close()\ndef v2(): pass\n")
    (tmp_path / "gens.py").write_text("open('IMPORTED', 'w').close()\ndef make(): pass\n")
    monkeypatch.chdir(tmp_path)
    for source in ("model:v2.pth", "checkpoints/netG:ep5.pth", "model:weights.safetensors"):
        with pytest.raises(SourceError, match="no such file or folder"):
            load_generator(source)
    with pytest.raises(SourceError, match="is a file's path, not a module's name"):
        load_generator("./gens.py:make")
    assert not (tmp_path / "IMPORTED").exists()
    for source, said in (
        ("hf://acme/dcgan", "is a Hub address; write it as hub:acme/dcgan"),
        ("file:///tmp/netG.pth", "give the file's path, /tmp/netG.pth"),
        ("https://example.com/netG.pth", "ganinv downloads nothing but Hub repos"),
        ("s3://bucket/netG.pth", "download the file and give its path"),
    ):
        with pytest.raises(SourceError, match=re.escape(said)):
            load_generator(source)


def test_a_file_named_like_an_importable_callable_is_refused_naming_both(tmp_path, monkeypatch):
    """A file `mygens:make` beside `mygens.py` was loaded in place of the callable, without a word (an outside audit,
    49a). `./mygens:make` is the file; a name whose module does not exist is the file, as before; nothing imported."""
    case = zoo.case("pytorch-examples-dcgan")
    (tmp_path / "mygens.py").write_text("open('IMPORTED', 'w').close()\ndef make(): pass\n")
    for name in ("mygens:make", "os.path:join", "nosuchmodule:make", "json:netG.pth"):
        torch.save(case.build(1).state_dict(), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for source in ("mygens:make", "os.path:join"):  # the folder's module, an installed one
        with pytest.raises(SourceError, match=f"'{source}' is both a file here and a module:callable .* ./{source}"):
            load_generator(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for source in ("./mygens:make", "nosuchmodule:make", "json:netG.pth"):  # a weights file's name: a file
            assert load_generator(source).meta["architecture"] == "dcgan"
    assert not (tmp_path / "IMPORTED").exists()


def test_a_source_that_names_nothing_says_what_it_may_have_meant(tmp_path, monkeypatch):
    """`BUILTIN:mnist` was imported as a module named BUILTIN; `mnist`, `owner/name`, a quoted `~` and a broken link
    were "no such file or folder" with no hint (an outside audit, 49a)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.pth").symlink_to(tmp_path / "gone.pth")
    for source, said in (
        ("BUILTIN:mnist", "write its prefix 'BUILTIN' in lower case, builtin:"),
        ("mnist", "the built-in generator is builtin:mnist"),
        ("acme/dcgan", "a Hugging Face repo is written hub:acme/dcgan"),
        ("~/netG.pth", "'~' is expanded by a shell, not here"),
        ("broken.pth", f"broken.pth is a link to {tmp_path / 'gone.pth'}, which does not exist"),
    ):
        with pytest.raises(SourceError, match=re.escape(said)):
            load_generator(source)


def test_an_entry_after_a_folder_is_refused_and_hub_addresses_keep_their_parts(tmp_path, monkeypatch):
    """A review (50a): `FOLDER#ENTRY` dropped the entry without a word; `hf://owner/name@v1/netG.pth` was told to be
    `hub:owner/name`, losing the revision and the file, and `hf://datasets/...` read as a model repo."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fold").mkdir()
    with pytest.raises(SourceError, match=r"#netD picks an entry of a checkpoint file, and fold is a folder"):
        load_generator("fold#netD")
    with pytest.raises(SourceError, match=re.escape("write it as hub:owner/name@v1:netG.pth")):
        load_generator("hf://owner/name@v1/netG.pth")
    with pytest.raises(SourceError, match="is a Hub dataset, not a model repo"):
        load_generator("hf://datasets/owner/name")


def test_an_option_typed_against_a_saved_folder_is_named_as_the_users(tmp_path):
    """An outside audit (53c): `--option nz=64` on builtin:mnist was refused as "the folder is damaged or was
    edited: save or download it again", blaming the package's own folder for the user's option."""
    with pytest.raises(SourceError, match=r"^--option nz=64 makes a net whose shapes .*\(saved with nz=62\)") as raised:
        load_generator("builtin:mnist", options={"nz": 64})
    assert "damaged" not in str(raised.value)


@pytest.mark.parametrize(
    "config,named",
    [
        ({"model_class": "modeling_gan:Generator", "nz": 8}, "model_class='modeling_gan:Generator'"),
        ({"_target_": "models.dcgan.Generator"}, "_target_='models.dcgan.Generator'"),
        ({"ganinv": {"generator": "modeling_gan:make"}}, "ganinv.generator='modeling_gan:make'"),
        ({"generator": {"model_class": "m:G", "nz": 8}}, "generator.model_class='m:G'"),
    ],
)
def test_a_config_naming_code_is_said_not_to_be_run(tmp_path, config, named):
    """Audit 55c: a repo's config naming the author's class (`model_class`, Hydra's `_target_`, a `ganinv` block)
    was ignored in silence: right not to run it, but the user was not told the class was not used."""
    module, case = sigmoid_dcgan()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_generator(str(config_folder(tmp_path, module, config)), options={"output": "sigmoid"})
    said = [str(w.message) for w in caught]
    assert [s for s in said if f"names code to build the generator ({named}" in s and "--model-class" in s], said


def test_a_configs_data_fields_are_not_named_as_code():
    """Review of audit 55c's fix: `source: mnist.npz` in a training config is data, not code to name."""
    from ganinv.sources.torch_saves import code_named

    assert code_named({"source": "mnist.npz", "target": "data.images", "generator": {"module": "x.png"}}) == []
    assert code_named({"module": "models.Generator", "source": "zoo:make"}) == [
        "source='zoo:make'",
        "module='models.Generator'",
    ]
