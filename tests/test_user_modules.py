"""What ganinv does with a generator module of the user's own (an outside audit, 22a): it runs it as the contract
says without changing the user's object behind their back, and refuses what it cannot invert in one clear line."""

import json
import os
import warnings
from pathlib import Path
from typing import Optional

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import ganinv
from ganinv import Generator, Inverter
from ganinv.cli.main import cli
from ganinv.errors import ArchitectureError, GaninvError, SourceError, SpecMismatchError
from ganinv.sources import load_generator
from ganinv.spec import GeneratorSpec

NZ = 4
SPEC = GeneratorSpec(nz=NZ, image_shape=(1, 8, 8))


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """`write(name, source)`: a module of the user's, importable (and able to import this file's nets)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        return name

    return write


def returning(name: str) -> str:
    """The source of a user's module whose make() returns this file's class `name`, built with no arguments."""
    return f"from test_user_modules import {name}\ndef make():\n    return {name}()\n"


class BatchNormNet(nn.Module):
    """Linear -> BatchNorm1d -> ReLU -> Linear -> Tanh: (N, 4) -> (N, 1, 8, 8), with running statistics of its own."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(NZ, 32)
        self.norm = nn.BatchNorm1d(32)
        self.out = nn.Linear(32, 64)
        with torch.no_grad():
            self.norm.running_mean.uniform_(-0.2, 0.2)
            self.norm.running_var.uniform_(0.5, 1.5)

    def forward(self, z, c=None, d=None):
        return torch.tanh(self.out(torch.relu(self.norm(self.fc(z.flatten(1)))))).view(-1, 1, 8, 8)


class RowNoise(BatchNormNet):
    """Noise from a stream seeded anew at every call: the same latents twice agree, but each row gets its own."""

    def forward(self, z, c=None, d=None):
        noise = torch.randn(z.shape[0], 1, 8, 8, generator=torch.Generator().manual_seed(0))
        return (super().forward(z) + 0.5 * noise).clamp(-1, 1)


class NoGradient(BatchNormNet):
    @torch.no_grad()
    def forward(self, z, c=None, d=None):
        return super().forward(z)


class Dark(BatchNormNet):
    """[0, 1] images whose values stay below 0.5 (dark digits on black)."""

    def forward(self, z, c=None, d=None):
        return (super().forward(z) + 1) / 2 * 0.45


def test_a_module_put_back_in_training_mode_still_runs_in_eval_mode_and_keeps_its_statistics():
    """Eval mode was set once, at wrap time: a user's module back in train() (their own loop, or a parent's train())
    ran with batch statistics and had its running statistics overwritten, in silence. Each call now runs in eval mode
    and leaves the module's own mode as it was."""
    net = BatchNormNet()
    g = Generator(net, SPEC)
    latents = g.sample_latents(6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = g.decode(latents)
    net.train()
    before = net.norm.running_mean.clone()
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents[:1]), expected[:1], rtol=0, atol=1e-6)  # not the batch's statistics
    assert torch.equal(net.norm.running_mean, before) and int(net.norm.num_batches_tracked) == 0
    assert net.training and net.norm.training  # the user's mode, as they left it


def test_wrapping_a_module_leaves_its_modes_and_batch_norm_tracking_as_the_user_set_them():
    """Wrapping put the user's module in eval mode for good, and `bn=train` turned its BatchNorm running statistics
    off for good: the user's own training then normalised by stale statistics, in silence."""
    net = BatchNormNet().train()
    Generator(net, SPEC, meta={"batchnorm": "train"}).decode(Generator(net, SPEC).sample_latents(4))
    assert net.training and net.norm.track_running_stats
    assert not any(p.requires_grad for p in net.parameters())  # frozen, as documented: a fit backpropagates through G


def test_converting_an_inverter_leaves_its_generators_dtype_alone():
    """`inverter.double()` / `.to(torch.bfloat16)` converted the user's generator module in place: a round trip
    through bfloat16 rounded its weights for good."""
    net = BatchNormNet()
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    inverter = Inverter.for_generator(Generator(net, SPEC), width=8, hidden=16)
    inverter.to(torch.bfloat16)
    inverter.float()
    assert net.fc.weight.dtype == torch.float32
    assert all(torch.equal(v, weights[k]) for k, v in net.state_dict().items())


def test_images_that_depend_on_their_place_in_the_batch_are_refused():
    with pytest.raises(SpecMismatchError, match=r"depend on each latent's place in the batch"):
        Generator(RowNoise(), SPEC).probe()


def test_a_generator_without_gradients_to_its_latents_is_sampled_but_not_fitted(tmp_path):
    """A forward under torch.no_grad() loaded, then fit and refinement stopped on an internal error; refused at load
    (audit 22a), it could no longer even be sampled (audit 23a). The probe says so; what backpropagates refuses."""
    g = Generator(NoGradient(), SPEC)
    with pytest.warns(UserWarning, match=r"carry no gradient to its latents.*it can be sampled"):
        g.probe()
    g.sample(2)
    with pytest.raises(SpecMismatchError, match=r"fitting an inverter backpropagates through the generator"):
        ganinv.fit(ganinv.FitConfig(steps=2, batch_size=4, width=4, hidden=8), tmp_path / "run", generator=g)
    assert not (tmp_path / "run").exists()  # refused before the run folder: a retry starts clean
    inverter = Inverter.for_generator(g, width=4, hidden=8)
    with pytest.raises(SpecMismatchError, match=r"refining latents \(--refine\) backpropagates"):
        ganinv.invert(inverter, torch.zeros(2, 1, 8, 8), refine_steps=2)
    Generator(BatchNormNet(), SPEC).probe()  # the same net with gradients loads in silence


class AveragedInEval(BatchNormNet):
    """A module whose own train() switches to other weights in eval mode (an exponential moving average)."""

    def __init__(self):
        super().__init__()
        self.averaged = False

    def train(self, mode: bool = True):
        super().train(mode)
        self.averaged = not mode
        return self

    def forward(self, z, c=None, d=None):
        return super().forward(z) * (0.5 if self.averaged else 1.0)


def test_a_modules_own_train_is_called_for_each_call_and_again_after():
    """Setting the layers' flags alone skipped a module's own train(), which switches to its averaged weights: the
    images were those of its training weights (audit 23a)."""
    net = AveragedInEval().train()
    g = Generator(net, SPEC)
    z = torch.randn(3, NZ)
    with torch.no_grad():
        torch.testing.assert_close(g(z), net.eval()(z), rtol=0, atol=1e-6)
        net.train()
        torch.testing.assert_close(g(z), 0.5 * BatchNormNet().eval()(z), rtol=0, atol=1e-6)
    assert net.training and not net.averaged  # its own train(True) again after the call


def test_dark_images_never_negative_under_minus_one_to_one_are_said_to_be_and_the_cli_shows_it(user_module):
    """A [0, 1] generator whose probe images stay below 0.5 was read as [-1, 1] in silence; and the probe's warnings
    (this one, a collapsed generator) were attributed to torch's no_grad wrapper, so the CLI did not show them."""
    with pytest.warns(UserWarning, match=r"never negative, under the declared range \[-1, 1\]"):
        Generator(Dark(), SPEC).probe()
    user_module("dark_module", returning("Dark"))
    result = CliRunner().invoke(cli, ["inspect", "-g", "dark_module:make", "--nz", str(NZ)])
    assert result.exit_code == 0, result.output
    assert "Warning: generated values span" in result.output and "--output-range 0,1" in result.output


@pytest.mark.parametrize(
    "returned, said",
    [
        ("lambda z, c=None, d=None: z", r"returns a function as its generator, not a torch.nn.Module"),
        ("BatchNormNet", r"returns the class BatchNormNet, not a module: return an instance"),
        ("meta_module()", r"weights are on the meta device"),
    ],
)
def test_what_a_callable_returns_is_a_module_with_weights(user_module, returned, said):
    """A function, a class or a module built on the meta device were internal errors."""
    module = f"odd_returns_{len(returned)}"  # one module per case: Python keeps the first one imported by a name
    user_module(
        module,
        "import torch\n"
        "from test_user_modules import BatchNormNet, SPEC\n"
        "def meta_module():\n"
        "    with torch.device('meta'):\n"
        "        return BatchNormNet()\n"
        f"def make():\n    return ({returned}), SPEC\n"
        f"def bare():\n    return {returned}\n",
    )
    for name in ("make", "bare"):
        with pytest.raises(SourceError, match=said):
            load_generator(f"{module}:{name}")


def test_a_callables_torchscript_module_loads(user_module):
    """(torch.jit.script(module), spec) was an internal error (requires_grad_ on a ScriptModule), and a bare one
    taking forward(z, c=None, d=None) was asked which of its 3 inputs to feed."""
    user_module(
        "scripted",
        "import torch, warnings\n"
        "from test_user_modules import BatchNormNet, SPEC\n"
        "def script():\n"
        "    with warnings.catch_warnings():\n"
        "        warnings.simplefilter('ignore')\n"
        "        return torch.jit.script(BatchNormNet().eval())\n"
        "def make():\n    return script(), SPEC\n"
        "def bare():\n    return script()\n",
    )
    z = torch.randn(3, NZ)
    with torch.no_grad():
        expected = BatchNormNet().eval()(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in (load_generator("scripted:make"), load_generator("scripted:bare", options={"spec.nz": NZ})):
            with torch.no_grad():
                torch.testing.assert_close(g(z), expected, rtol=0, atol=1e-6)


def test_the_program_options_of_a_callables_bare_module_reach_ganinv(user_module):
    """Every --option went to the callable, so a bare module whose forward takes (z, labels) could not be told so:
    the options ganinv calls a program with reach ganinv's call of a bare module (and the callable, where it takes
    them)."""
    user_module(
        "conditional",
        "import torch\n"
        "class Conditional(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        torch.manual_seed(0)\n"
        "        self.embed = torch.nn.Embedding(3, 4)\n"
        "        self.out = torch.nn.Linear(4, 64)\n"
        "    def forward(self, z, labels):\n"
        "        return torch.tanh(self.out(z + self.embed(labels))).view(-1, 1, 8, 8)\n"
        "def make():\n"
        "    return Conditional()\n"
        "def make_named(n_classes=3):\n"
        "    assert int(n_classes) == 3\n"
        "    return Conditional()\n"
        "def make_with_spec():\n"
        "    from ganinv.spec import GeneratorSpec\n"
        "    return Conditional(), GeneratorSpec(nz=4, image_shape=(1, 8, 8))\n",
    )
    with pytest.raises(
        Exception, match=r"takes 2 inputs \(\w+, \w+\); ganinv feeds z and.* say which with --option inputs=z,labels"
    ):
        load_generator("conditional:make", options={"spec.nz": NZ})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = load_generator("conditional:make", options={"spec.nz": NZ, "inputs": "z,labels", "n_classes": 3})
    assert g.spec.n_classes == 3
    with warnings.catch_warnings():  # a callable that names n_classes gets it, and so does ganinv (audit 23a)
        warnings.simplefilter("ignore")
        named = load_generator("conditional:make_named", options={"spec.nz": NZ, "inputs": "z,labels", "n_classes": 3})
    assert named.spec.n_classes == 3
    with pytest.raises(
        SourceError, match=r"does not take the options \['n_classes'\].*returns its generator with a spec"
    ):
        load_generator("conditional:make_with_spec", options={"n_classes": 3})  # dropped in silence (audit 23a)


def test_loading_a_module_leaves_the_users_random_stream_alone(user_module):
    """The shape probe of a bare module drew its latents from torch's global stream: the user's next draws moved."""
    user_module("prebuilt", "NET = None\ndef make():\n    return NET\n")
    import prebuilt

    prebuilt.NET = BatchNormNet()  # built before the user seeds: building a module draws its initial weights
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_generator("prebuilt:make", options={"spec.nz": NZ})
    torch.testing.assert_close(torch.rand(2), expected, rtol=0, atol=0)


def test_an_inverter_of_a_callable_says_when_the_callable_now_returns_other_weights(tmp_path, user_module):
    """An inverter fitted on a `module:callable` kept no fingerprint of its generator's weights: the same callable
    returning another generator (a retrained checkpoint) was used without a word."""
    user_module(
        "versioned",
        "import torch\n"
        "from test_user_modules import BatchNormNet, SPEC\n"
        "SCALE = 1.0\n"
        "def make():\n"
        "    net = BatchNormNet().eval()\n"
        "    with torch.no_grad():\n"
        "        net.out.weight.mul_(SCALE)\n"
        "    return net, SPEC\n",
    )
    import versioned

    Inverter.for_generator(load_generator("versioned:make"), width=8, hidden=16).save_pretrained(tmp_path / "inv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same weights: not a word
        Inverter.load(str(tmp_path / "inv"), generator="versioned:make", trust_remote_code=True)
    versioned.SCALE = -1.0
    with pytest.warns(UserWarning, match=r"versioned:make now holds weights of sha256 .* was fitted on its weights"):
        Inverter.load(str(tmp_path / "inv"), generator="versioned:make", trust_remote_code=True)


class Wrapped(nn.Module):
    """A module inside another: its keys gain a prefix (`m.`), as a traced wrapper's or DataParallel's do."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.m = module

    def forward(self, z):
        return self.m(z)


def test_the_same_weights_in_another_container_are_not_called_another_generator(tmp_path, user_module):
    """An outside audit: a module:callable's weights traced to TorchScript (inside a wrapper) were warned "holds weights
    of sha256 X, but ... fitted on Y's: its latents and scores are for the earlier generator", every score the same;
    a file's sha256 was compared with a state dict's. The tensors themselves are compared, in any container."""
    user_module(
        "traced_source",
        "from test_user_modules import BatchNormNet, SPEC\ndef make():\n    return BatchNormNet().eval(), SPEC\n",
    )
    import traced_source

    Inverter.for_generator(load_generator("traced_source:make"), width=8, hidden=16).save_pretrained(tmp_path / "inv")
    net = traced_source.make()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(Wrapped(net), torch.randn(2, NZ)).save(str(tmp_path / "same.ts"))
        with torch.no_grad():
            net.out.weight.mul_(-1)
        torch.jit.trace(Wrapped(net), torch.randn(2, NZ)).save(str(tmp_path / "other.ts"))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "same.ts"))
    told = [str(w.message) for w in said if "sha256" in str(w.message)]
    # the same weights: not another generator; its code, in another container, cannot be compared (a review)
    assert len(told) == 1 and "holds the weights the inverter" in told[0] and "cannot tell whether its code" in told[0]
    with pytest.warns(UserWarning, match=r"holds weights of sha256 .* was fitted on traced_source:make's weights"):
        Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "other.ts"))
    config = json.loads((tmp_path / "inv" / "config.json").read_text())  # as an inverter made before: no tensors
    del config["generator_ref"]["meta"]["ordered_tensors_sha256"]  # fingerprint: a state dict's beside a file's
    (tmp_path / "inv" / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match=r"one's weights are code and the other's a file, whose fingerprints ganinv"):
        Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "same.ts"))


class OptionalLabels(nn.Module):
    """A conditional program whose label input has a default: forward(z, labels=None)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(3, NZ)
        self.out = nn.Linear(NZ, 64)

    def forward(self, z, labels: Optional[torch.Tensor] = None):
        if labels is not None:
            z = z + self.embed(labels)
        return torch.tanh(self.out(z)).view(-1, 1, 8, 8)


def test_a_program_whose_label_input_has_a_default_is_fed_its_labels(tmp_path):
    """Counting only the inputs without a default (for forward(z, c=None, d=None)) fed a conditional program's
    forward(z, labels=None) z alone, and refused its --option n_classes (audit 23a): with codes in the spec, the
    inputs it may take count too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(OptionalLabels()).save(str(tmp_path / "conditional.ts"))
        g = load_generator(str(tmp_path / "conditional.ts"), options={"spec.nz": NZ, "n_classes": 3})
    latents = g.sample_latents(4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = OptionalLabels()(latents.z, latents.d.argmax(1))
        torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-6)


class WithRecord(BatchNormNet):
    """A module whose state dict holds a record beside its tensors (nn.Module.get_extra_state)."""

    def get_extra_state(self):
        return {"trained_steps": 1000}

    def set_extra_state(self, state):
        self.record = state


def test_a_callables_module_with_a_record_in_its_state_dict_loads(user_module):
    """Fingerprinting its weights was an internal error on the record ('dict' has no attribute 'detach')."""
    user_module(
        "recorded", "from test_user_modules import WithRecord, SPEC\ndef make():\n    return WithRecord(), SPEC\n"
    )
    first = load_generator("recorded:make").meta["weights_sha256"]
    assert first == load_generator("recorded:make").meta["weights_sha256"]


@pytest.mark.parametrize(
    "flags",
    [["--prior", "gaussian"], ["--prior", "uniform:1,-1"], ["--output-range", "1,0"], ["--image-shape", "1,28"]],
)
def test_a_programs_spec_flags_of_no_valid_spec_are_one_error_line(tmp_path, flags):
    """Values the spec refuses, given to a TorchScript program (whose spec the flags make), were an internal error
    (audit 26b); a module's were already one Error: line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(BatchNormNet().eval(), torch.randn(2, NZ)).save(str(tmp_path / "g.ts"))
    result = CliRunner().invoke(cli, ["inspect", "-g", str(tmp_path / "g.ts"), "--nz", str(NZ), *flags])
    assert result.exit_code == 2, result.output
    if flags[0] == "--prior":  # refused as typed, before anything loads
        for source in (str(tmp_path / "g.ts"), "builtin:mnist"):
            said = CliRunner().invoke(cli, ["inspect", "-g", source, *flags]).output
            assert said.count("Error:") == 1 and f"Invalid value for --prior: '{flags[1]}'" in said, said
        return
    assert result.output.count("Error:") == 1 and "not a valid spec" in result.output, result.output
    assert "internal error" not in result.output
    # named by the flag given, not the spec's field (an outside audit: "spec overrides {'native_prior': 'foo'}")
    assert f"{flags[0]} {flags[1]}" in result.output, result.output
    assert "spec overrides" not in result.output
    weights = CliRunner().invoke(cli, ["inspect", "-g", "builtin:mnist", *flags])  # a generator read from weights
    assert weights.exit_code == 2 and f"Error: {' '.join(flags)} (spec." in weights.output, weights.output


def test_a_program_whose_label_input_has_a_default_is_refused_without_n_classes(tmp_path):
    """Left to its default label, every image was one class's, loaded as unconditional in silence (audit 26b); the
    refusal names the embedding's rows, and --option inputs=z loads it as it is."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(OptionalLabels()).save(str(tmp_path / "conditional.ts"))
    with pytest.raises(ArchitectureError, match=r"optional 'labels' beside z.*an embedding of 3 rows.*n_classes=3"):
        load_generator(str(tmp_path / "conditional.ts"), options={"spec.nz": NZ})
    plain = load_generator(str(tmp_path / "conditional.ts"), options={"spec.nz": NZ, "inputs": "z"})
    assert plain.spec.n_classes == 0


class LinearUnit(nn.Module):
    """A last layer without an activation, trained on [0, 1] data: values from a little below 0 to about 0.9."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(NZ, 64)

    def forward(self, z):
        return (torch.sigmoid(3 * self.fc(z)) * 0.95 - 0.03).view(-1, 1, 8, 8)


def test_a_linear_output_of_unit_range_data_is_not_read_as_minus_one_to_one(user_module):
    """Read as [-1, 1] for its few values a little below 0, its black was mid-grey, in silence; and the right
    --output-range 0,1 was refused for them (audit 26b). Now [-1, 1] is refused naming 0,1, which loads, clamped."""
    user_module("linear_unit", returning("LinearUnit"))
    with pytest.warns(UserWarning, match=r"never below -0.05.*--output-range 0,1"):  # said: a Tanh net's bright
        load_generator("linear_unit:make", options={"spec.nz": NZ})  # images may look so (not refused: a review)
    with pytest.warns(UserWarning, match="a little beyond the output range"):
        g = load_generator("linear_unit:make", options={"spec.nz": NZ, "spec.native_output_range": "0,1"})
    z = torch.randn(16, NZ, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = (LinearUnit()(z) * 2 - 1).clamp(-1, 1)
        assert float(LinearUnit()(z).min()) < 0  # the case: values below the range given
        torch.testing.assert_close(g(z), expected)


class FlatChannelsLast(nn.Module):
    """A Keras port: a flat (N, H*W*C) output in (H, W, C) order; smooth colour images."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(NZ, 3)

    def forward(self, z):
        colour = torch.tanh(self.fc(z))  # (N, 3): one colour per image, a ramp across its rows
        ramp = torch.linspace(0.5, 1.0, 8).view(1, 8, 1, 1)
        return (colour.view(-1, 1, 1, 3) * ramp).expand(-1, 8, 8, 3).reshape(-1, 8 * 8 * 3)


def test_a_flat_channels_last_output_is_read_in_its_order(user_module):
    """Reshaped as (C, H, W), a red image became grey stripes, announced only as a channel count (audit 26b): the
    probe reads the order (the smoother images), and --option image_layout settles it."""
    user_module("flat_hwc", returning("FlatChannelsLast"))
    z = torch.randn(4, NZ, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        author = FlatChannelsLast()(z).view(4, 8, 8, 3).permute(0, 3, 1, 2)
        g = load_generator("flat_hwc:make", options={"spec.nz": NZ, "spec.image_shape": "3,8,8"})
        torch.testing.assert_close(g(z), author)
        assert [d["value"] for d in g.meta["decisions"] if d["property"] == "image_layout"] == ["hwc"]
        as_chw = load_generator(
            "flat_hwc:make", options={"spec.nz": NZ, "spec.image_shape": "3,8,8", "image_layout": "chw"}
        )
        torch.testing.assert_close(as_chw(z), FlatChannelsLast()(z).view(4, 3, 8, 8))


def test_an_inverter_reads_its_flat_output_generator_as_it_was_fitted(user_module, tmp_path):
    """A flat colour output's layout is decided by a probe; an inverter fitted before that reading saw (C, H, W), and
    with the new reading its every reconstruction changed in silence (review 27a). The artifact's record settles it:
    the layout decided at fit time, or (C, H, W) where the record predates the reading."""
    user_module("flat_hwc", returning("FlatChannelsLast"))
    z = torch.randn(4, NZ, generator=torch.Generator().manual_seed(1))
    as_hwc = FlatChannelsLast()(z).view(4, 8, 8, 3).permute(0, 3, 1, 2).detach()
    as_chw = FlatChannelsLast()(z).view(4, 3, 8, 8).detach()
    options = {"spec.nz": NZ, "spec.image_shape": "3,8,8"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = load_generator("flat_hwc:make", options=options)
    Inverter.for_generator(g, width=4, hidden=8, options=options).save_pretrained(tmp_path / "inv")
    config_path = tmp_path / "inv" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["generator_ref"]["meta"]["options"]["image_layout"] == "auto"

    def decoded(**flags) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inverter = Inverter.load(str(tmp_path / "inv"), **flags)
            return inverter.generator(z).detach()

    torch.testing.assert_close(decoded(generator="flat_hwc:make"), as_hwc)
    torch.testing.assert_close(decoded(trust_remote_code=True), as_hwc)
    # fitted when ganinv read it as (C, H, W) and recorded no image_layout: read so again
    del config["generator_ref"]["meta"]["options"]["image_layout"]
    config["generator_ref"]["meta"]["decisions"] = [
        d for d in config["generator_ref"]["meta"]["decisions"] if d["property"] != "image_layout"
    ]
    config_path.write_text(json.dumps(config))
    torch.testing.assert_close(decoded(generator="flat_hwc:make"), as_chw)
    torch.testing.assert_close(decoded(trust_remote_code=True), as_chw)
    # a decision recorded as chw stays chw although the probe now says hwc
    config["generator_ref"]["meta"]["options"]["image_layout"] = "auto"
    config["generator_ref"]["meta"]["decisions"].append(
        {"property": "image_layout", "value": "chw", "source": "assumed: as smooth", "flag": ""}
    )
    config_path.write_text(json.dumps(config))
    torch.testing.assert_close(decoded(generator="flat_hwc:make"), as_chw)
    # the user's own option wins over the record
    config["generator_ref"]["options"] = {**options, "image_layout": "hwc"}
    config_path.write_text(json.dumps(config))
    torch.testing.assert_close(decoded(generator="flat_hwc:make"), as_hwc)


def test_a_callable_given_by_its_files_path_is_told_the_modules_name(tmp_path):
    """`-g path/to/gens.py:make` was "cannot import ... No module named '/path/gens'" (audit 26b)."""
    (tmp_path / "gens.py").write_text("def make():\n    return None\n")
    with pytest.raises(
        SourceError, match=r"is a file's path, not a module's name; run from its folder and give gens:make"
    ):
        load_generator(f"{tmp_path / 'gens.py'}:make")


class UntrackedNorm(BatchNormNet):
    """BatchNorm by batch statistics by design: no running statistics at all."""

    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(32, track_running_stats=False)


def test_batch_statistics_by_design_are_refused_naming_bn_train(user_module):
    """Already in eval mode, it was told to put itself in eval mode; --option bn=train, which accepts it, went unnamed
    (audit 26b)."""
    user_module("untracked", returning("UntrackedNorm"))
    with pytest.raises(
        SpecMismatchError, match="depend on the other latents of the batch.*--option bn=train accepts it"
    ):
        load_generator("untracked:make", options={"spec.nz": NZ})


class NoiseScaled(BatchNormNet):
    """An unconditional module whose optional `y` is a noise scale, not a class label: it has no label embedding."""

    def forward(self, z, y=None):
        return super().forward(z * (1.0 if y is None else y))


def test_an_optional_y_without_a_label_embedding_is_said_not_refused(user_module):
    """Refused as a conditional generator's label, it could not be loaded, nor its old inverters reused (a review of
    audit 26b's fix): without an embedding to show a label, the default is said."""
    user_module("noise_scaled", returning("NoiseScaled"))
    with pytest.warns(UserWarning, match=r"optional 'y' beside z, left to its default"):
        g = load_generator("noise_scaled:make", options={"spec.nz": NZ})
    assert g.spec.n_classes == 0


def test_a_truncated_prior_given_without_bounds_is_refused(user_module):
    """`--option spec.native_prior=truncated_normal` alone meant [-1, 1] in silence (audit 26b F7)."""
    user_module("plain_bn", returning("BatchNormNet"))
    with pytest.raises(SourceError, match="truncated_normal prior needs its bounds"):
        load_generator("plain_bn:make", options={"spec.nz": NZ, "spec.native_prior": "truncated_normal"})
    g = load_generator(
        "plain_bn:make",
        options={"spec.nz": NZ, "spec.native_prior": "truncated_normal", "spec.native_prior_range": "-2,2"},
    )
    assert g.spec.native_prior_range == (-2.0, 2.0)


class TracedBatchOfFour(BatchNormNet):
    """A forward that views its output at a fixed batch of 4, as a trace with a batch of 4 keeps it."""

    def forward(self, z, c=None, d=None):
        return super().forward(z).reshape(4, 1, 8, 8)


def test_a_program_fixed_to_a_batch_of_four_is_named_as_such(tmp_path):
    """A trace fixed to a batch of 4 was told to check --nz: 4 was not among the batch sizes tried (audit 26b F8)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(TracedBatchOfFour().eval(), torch.randn(4, NZ)).save(str(tmp_path / "four.ts"))
    with pytest.raises(GaninvError, match="batch_size=4"):
        load_generator(str(tmp_path / "four.ts"), options={"spec.nz": NZ})
    g = load_generator(str(tmp_path / "four.ts"), options={"spec.nz": NZ, "batch_size": 4})
    assert g.sample_latents(6, generator=torch.Generator().manual_seed(0)).z.shape == (6, NZ)
    with torch.no_grad():
        assert g.decode(g.sample_latents(6, generator=torch.Generator().manual_seed(0))).shape == (6, 1, 8, 8)


class NoiseTableOfFour(BatchNormNet):
    """A fixed noise row per place in the batch, 4 rows: it runs on batches of 1 to 4, each image depending on its
    place (an outside audit, 57b)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("noise", torch.randn(4, NZ, generator=torch.Generator().manual_seed(3)))

    def forward(self, z, c=None, d=None):
        return super().forward(z + self.noise[: z.shape[0]])


def test_a_program_that_runs_on_batches_up_to_four_is_not_told_a_fixed_batch_of_one(tmp_path):
    """It was told "runs on a batch of exactly 1: pass --option batch_size=1", which loaded it as position 0's
    generator alone (1.2-1.6 off the images at places 1-3); batch_size=4 shows its images depend on their place."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(NoiseTableOfFour().eval(), torch.randn(4, NZ)).save(str(tmp_path / "table.ts"))
    with pytest.raises(GaninvError, match=r"runs on batches of up to 4: .*pass --option batch_size=4") as refused:
        load_generator(str(tmp_path / "table.ts"), options={"spec.nz": NZ})
    assert "exactly" not in str(refused.value)
    with pytest.raises(GaninvError, match="place in the batch"):
        load_generator(str(tmp_path / "table.ts"), options={"spec.nz": NZ, "batch_size": 4})


def test_a_program_traced_in_training_mode_is_not_sent_round_between_bn_train_and_bn_eval(tmp_path):
    """bn=train accepted it and named bn=eval for a fixed G(z); bn=eval, which a traced graph ignores, was refused
    naming bn=train again: a loop (audit 30b). bn=eval says the mode is fixed inside the program."""

    class Plain(nn.Module):  # the ganinv-convention forward of BatchNormNet, traced as z alone
        def __init__(self):
            super().__init__()
            self.net = BatchNormNet()

        def forward(self, z):
            return self.net(z)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(Plain().train(), torch.randn(8, NZ)).save(str(tmp_path / "bntrain.ts"))
    with pytest.warns(UserWarning, match="one traced or exported in training mode cannot: trace or export it again"):
        load_generator(str(tmp_path / "bntrain.ts"), options={"spec.nz": NZ, "bn": "train"})
    for options in ({"bn": "eval"}, {}, {"batch_size": 1}):  # its graph says so, at any batch (57b: at 1, unseen)
        with pytest.raises(SourceError, match="whose BatchNorm runs in training mode .* fixed inside the program"):
            load_generator(str(tmp_path / "bntrain.ts"), options={"spec.nz": NZ, **options})


def test_a_program_exported_in_training_mode_at_a_batch_of_one_is_refused(tmp_path):
    """An outside audit (57b): exported before G.eval() with the usual example input of one latent, a generator was
    fed one latent at a time, each image normalised by its own statistics: no batch test saw it, and it loaded 0.81
    off in silence. Its graph's BatchNorm is fixed in training mode, and that is read."""

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = BatchNormNet()

        def forward(self, z):
            return self.net(z)

    train_mode = torch.export.export(Plain().train(), (torch.randn(2, NZ),))  # (BatchNorm1d needs 2 in training)
    torch.export.save(train_mode, str(tmp_path / "train.pt2"))
    with pytest.raises(SourceError, match="torch.export program whose BatchNorm runs in training mode"):
        load_generator(str(tmp_path / "train.pt2"), options={"spec.nz": NZ})
    torch.export.save(torch.export.export(Plain().eval(), (torch.randn(2, NZ),)), str(tmp_path / "eval.pt2"))
    load_generator(str(tmp_path / "eval.pt2"), options={"spec.nz": NZ, "batch_size": 2})


class TruncationArgument(BatchNormNet):
    def forward(self, z, truncation):
        return super().forward(z * truncation)


class KeywordOnlyArgument(BatchNormNet):
    def forward(self, z, c=None, d=None, *, psi):
        return super().forward(z * psi)


class TupleInput(BatchNormNet):
    def forward(self, inputs, c=None, d=None):
        z, _ = inputs
        return super().forward(z)


class OneHotLabel(BatchNormNet):
    def forward(self, z, onehot):
        return super().forward(torch.cat([z[:, : NZ - 2], onehot], dim=1))


class FeaturesThenImages(BatchNormNet):
    def forward(self, z, c=None, d=None):
        images = super().forward(z)
        return images.flatten(1)[:, :10], images


class FeatureMapThenImages(BatchNormNet):
    """(features (N, 32, 2, 2), images): 4-D, the feature map was taken as 32-channel images (audit 41a)."""

    def forward(self, z, c=None, d=None):
        images = super().forward(z)
        return images.reshape(-1, 1, 2, 32).permute(0, 3, 1, 2).repeat(1, 1, 2, 1)[:, :, :, :2], images


class ImagesCoarsestFirst(BatchNormNet):
    """MSG-GAN: a list of the images at 2, 4 and 8 px, coarsest first (audit 41a: loaded as a 2-px generator)."""

    def forward(self, z, c=None, d=None):
        images = super().forward(z)
        return [nn.functional.avg_pool2d(images, 4), nn.functional.avg_pool2d(images, 2), images]


class MixedDtypes(nn.Module):
    """A float32 norm registered before the float16 layer that takes z: fed float32 latents (audit 41a)."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(64)
        self.fc = nn.Linear(NZ, 64).half()

    def forward(self, z):
        return torch.tanh(self.norm(self.fc(z).float())).view(-1, 1, 8, 8)


class OnCuda(BatchNormNet):
    """A forward that makes a tensor on CUDA, as code written for a GPU does (audit 41a)."""

    def forward(self, z, c=None, d=None):
        return super().forward(z) + torch.zeros(1, device="cuda").cpu()


@pytest.mark.parametrize(
    "net, options, expected",
    [  # each was told a remedy that cannot help (audit 26b F8): to give labels, to check --nz, an --image-shape
        (TruncationArgument, {}, r"takes 2 inputs \(z, truncation\).* neither \('truncation'\?\) needs a wrapper"),
        (KeywordOnlyArgument, {}, r"requires the keyword argument 'psi', which ganinv does not give.* wrap it"),
        (TupleInput, {}, r"calls it with tensors, z \(2, 4\): one that takes a tuple, a dict .* needs a wrapper"),
        (
            OneHotLabel,
            {"inputs": "z,labels", "n_classes": 2},
            r"failed on latents .*; if it takes its label as a one-hot float vector, pass --option inputs=z,onehot",
        ),
        (FeaturesThenImages, {}, r"tuple of 2 whose element 1 is images \(2, 1, 8, 8\).* returns element 1 alone"),
        (FeatureMapThenImages, {}, r"first element \(32, 2, 2\) is no image, beside element 1's images \(1, 8, 8\)"),
        (ImagesCoarsestFirst, {}, r"list of 3 whose first element \(1, 2, 2\) is smaller than element 2's images"),
        (MixedDtypes, {}, r"its layers take other dtypes than the float32 latents ganinv feeds it"),
        pytest.param(
            OnCuda,
            {},
            r"its forward puts tensors on CUDA, which this machine lacks",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
    ],
)
def test_a_program_ganinv_cannot_call_is_told_the_remedy_that_applies(user_module, net, options, expected):
    name = f"odd_{net.__name__.lower()}"  # one module per case: an imported one stays in sys.modules
    user_module(name, f"from test_user_modules import {net.__name__}\ndef make():\n    return {net.__name__}()\n")
    with pytest.raises(ArchitectureError, match=expected):
        load_generator(f"{name}:make", options={"spec.nz": NZ, **options})


def test_a_one_hot_program_given_its_inputs_loads(user_module):
    """The remedy the one-hot refusal names works."""
    user_module("one_hot", returning("OneHotLabel"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = load_generator("one_hot:make", options={"spec.nz": NZ, "inputs": "z,onehot", "n_classes": 2})
    assert g.spec.n_classes == 2


class Scaled(nn.Module):
    """tanh of a linear map, times `scale`: images on a scale ganinv was not told (no --output-range)."""

    def __init__(self, scale=65535.0, offset=0.0, log_of_first=False):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(NZ, 64)
        self.scale, self.offset, self.log_of_first = scale, offset, log_of_first

    def forward(self, z, c=None, d=None):
        x = self.scale * torch.tanh(self.fc(z)) + self.offset
        if self.log_of_first:  # undefined where z0 < 0: a log inside the generator
            x = x + torch.log(z[:, :1])
        return x.view(-1, 1, 8, 8)


class NoChannel(Scaled):
    def forward(self, z, c=None, d=None):
        return super().forward(z)[:, 0]  # (N, 8, 8)


@pytest.mark.parametrize(
    "make, expected",
    [  # each was told a cause or remedy that does not apply (audit 28a F4, F6, F7)
        ("Scaled(32767.5, 32767.5)", r"outside the declared output range .* pass that range with --output-range"),
        ("Scaled(1e6)", r"outside the declared output range"),
        ("Scaled(1.0, 0.0, True)", r"NaN or infinite values for \d of 8 probe latents .* a log, a square root"),
        ("NoChannel(1.0)", r"\(8, 8, 8\), not images .*; make its forward return them so: x.unsqueeze\(1\)"),
    ],
)
def test_a_generator_with_an_odd_output_is_told_what_applies(user_module, make, expected):
    name = "odd_output_" + str(abs(hash(make)))
    user_module(
        name,
        "from test_user_modules import Scaled, NoChannel\nfrom ganinv.spec import GeneratorSpec\n"
        f"def make():\n    return {make}, GeneratorSpec(nz={NZ}, image_shape=(1, 8, 8))\n",
    )
    with pytest.raises(SpecMismatchError, match=expected) as refused:
        load_generator(f"{name}:make")
    assert "bn=train" not in str(refused.value)


def test_values_all_near_zero_are_not_called_a_zero_to_one_generator(user_module):
    """1e-8 * tanh was told "never negative ... pass --output-range 0,1" (audit 28a F10)."""
    user_module(
        "tiny_scale",
        "from test_user_modules import Scaled\nfrom ganinv.spec import GeneratorSpec\n"
        f"def make():\n    return Scaled(1e-8), GeneratorSpec(nz={NZ}, image_shape=(1, 8, 8))\n",
    )
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        load_generator("tiny_scale:make")
    assert not any("--output-range 0,1" in str(w.message) for w in said), [str(w.message) for w in said]


class StepImages(Scaled):
    """sign() of a smooth map: images change only by jumps, their gradient to z is 0 everywhere."""

    def forward(self, z, c=None, d=None):
        return torch.sign(super().forward(z))


class NaNGradient(Scaled):
    """Finite images whose gradient is NaN where z0 < 0: the torch.where(sqrt) trap."""

    def forward(self, z, c=None, d=None):
        root = torch.where(z[:, :1] > 0, z[:, :1].clamp_min(0).sqrt(), torch.zeros_like(z[:, :1]))
        root = torch.where(z[:, :1] > 0, root, z[:, :1].sqrt())  # NaN branch, masked out of the value only
        return super().forward(z) + 0.01 * torch.nan_to_num(root).view(-1, 1, 1, 1)


class Collapsed(Scaled):
    def forward(self, z, c=None, d=None):
        return super().forward(z * 0)


@pytest.mark.parametrize(
    "make, said",
    [  # a fit trained to its first evaluation, then stopped on a metric "not a finite number" or an internal
        # linalg error, its checkpoints naming --resume (audit 28a F3, F5)
        ("StepImages(1.0)", "their gradient is exactly 0 at every probe latent"),
        ("NaNGradient(1.0)", "gradient to its latents is not finite at some probe latents"),
        ("Collapsed(1.0)", "the generator makes the same image for"),
    ],
)
def test_a_generator_a_fit_cannot_learn_from_is_refused_before_any_run_folder(user_module, tmp_path, make, said):
    name = "unlearnable_" + make.partition("(")[0].lower()
    user_module(
        name,
        "from test_user_modules import StepImages, NaNGradient, Collapsed\nfrom ganinv.spec import GeneratorSpec\n"
        f"def make():\n    return {make}, GeneratorSpec(nz={NZ}, image_shape=(1, 8, 8))\n",
    )
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        g = load_generator(f"{name}:make")
    assert any(said in str(w.message) for w in warned), [str(w.message) for w in warned]
    g.sample(4)  # it can still be sampled
    result = CliRunner().invoke(
        cli, ["fit", "-g", f"{name}:make", "--steps", "2", "--batch-size", "4", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2 and "Error: fitting an inverter learns from the generator's images" in result.output
    assert said in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # a retry starts clean


def test_latent_directions_that_are_not_finite_are_one_clear_error_and_no_move_gives_no_weighted_figure():
    from ganinv.evaluation import generator_directions, latent_recovery
    from ganinv.generator import GradientError
    from ganinv.inverter import Posterior
    from ganinv.spec import Latents

    g = Generator(NaNGradient(1.0), SPEC, source="nan-gradient")
    with pytest.raises(GradientError, match=r"not finite .* at \d+ of 64 latents drawn from its prior"):
        generator_directions(g, n=64)
    z = torch.randn(16, NZ, generator=torch.Generator().manual_seed(0))
    recovered = latent_recovery(
        Latents(z=z),
        Posterior(mu_z=z * 0.5, logvar_z=torch.zeros_like(z)),
        (torch.eye(NZ), torch.zeros(NZ)),  # a generator no move of z changes
    )
    assert recovered["z_variance_recovered_weighted"] is None


class HalfDead(Scaled):
    """Ignores z[2:]: half its latent directions move no image."""

    def forward(self, z, c=None, d=None):
        return super().forward(torch.cat([z[:, :2], torch.zeros_like(z[:, 2:])], dim=1))


def test_latent_directions_that_move_no_image_are_said_by_fit(user_module, tmp_path):
    """Shown only as zeros among the fit's sensitivities, their meaningless coordinates went on into latents and
    features unsaid (audit 28a F11)."""
    user_module(
        "half_dead",
        "from test_user_modules import HalfDead\nfrom ganinv.spec import GeneratorSpec\n"
        f"def make():\n    return HalfDead(1.0), GeneratorSpec(nz={NZ}, image_shape=(1, 8, 8))\n",
    )
    args = ["fit", "-g", "half_dead:make", "--steps", "2", "--batch-size", "4", "--eval-every", "2", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--width", "4", "--hidden", "8", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "Warning: 2 of the generator's 4 latent directions move no image" in result.output


class FlatChannelsLastWithFeatures(FlatChannelsLast):
    """(flat (H, W, C) images, a feature map): images first, as the contract takes them."""

    def forward(self, z):
        return super().forward(z), torch.zeros(z.shape[0], 16, 4, 4)


def test_flat_images_before_a_feature_map_keep_their_layout_reading(user_module):
    """The check for images after features refused this tuple inside the layout probe, which gave up: (H, W, C)
    images were read as (C, H, W) in silence, and without --image-shape the feature map was called the images
    (review 29a)."""
    user_module(
        "flat_hwc_features",
        "from test_user_modules import FlatChannelsLastWithFeatures\n"
        "def make():\n    return FlatChannelsLastWithFeatures()\n",
    )
    z = torch.randn(4, NZ, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = load_generator("flat_hwc_features:make", options={"spec.nz": NZ, "spec.image_shape": "3,8,8"})
        with torch.no_grad():
            author = FlatChannelsLast()(z).view(4, 8, 8, 3).permute(0, 3, 1, 2)
            torch.testing.assert_close(g(z), author)
        with pytest.raises(ArchitectureError, match=r"if they are flat images, give --image-shape C,H,W \(192 values"):
            load_generator("flat_hwc_features:make", options={"spec.nz": NZ})


def test_a_callables_options_typed_on_the_command_line_take_its_parameters_types(user_module):
    """An outside audit (41a): `--option use_ema=false` reached `make(use_ema=True)` as the truthy string "false"
    and loaded the other weights in silence, and `--option width=32` reached nn.Linear as a string. Values are
    converted by the parameter's default or annotation, as a flag's are; a word of no such value is refused."""
    user_module(
        "typed_factory",
        "from __future__ import annotations\n"
        "from typing import Optional\n"
        "import torch\n"
        "from torch import nn\n"
        "from test_user_modules import BatchNormNet, SPEC\n"
        "def make(use_ema=True, width: Optional[int] = None, scale: float = 1.0, name='x'):\n"
        "    assert isinstance(name, str) and (width is None or isinstance(width, int))\n"
        "    net = BatchNormNet()\n"
        "    if not use_ema:\n"
        "        with torch.no_grad():\n"
        "            net.out.weight.mul_(-scale)\n"
        "    return net, SPEC\n",
    )
    latents = torch.randn(3, NZ, generator=torch.Generator().manual_seed(0))
    average = load_generator("typed_factory:make")(latents)
    for word, same in [("false", False), ("No", False), ("0", False), ("true", True), ("on", True)]:
        images = load_generator("typed_factory:make", options={"use_ema": word})(latents)
        assert torch.equal(images, average) == same, word
    load_generator("typed_factory:make", options={"width": "32", "scale": "2.5", "name": "y"})
    for option, said in [({"use_ema": "maybe"}, "use_ema takes bool"), ({"width": "3.5"}, "width takes int")]:
        with pytest.raises(SourceError, match=said):
            load_generator("typed_factory:make", options=option)


@pytest.mark.parametrize(
    "body,said",
    [
        ("    raise KeyError('generator')\n", r"raised KeyError: 'generator'. The error is in that callable's code"),
        ("    return torch.ones(2).mul_('x')\n", r"raised TypeError: .*The error is in that callable's code"),
        ("    raise RuntimeError('size mismatch for\\n lin.weight')\n", r"RuntimeError: size mismatch for; lin.weight"),
    ],
)
def test_an_error_in_the_users_callable_is_said_as_theirs(user_module, body, said):
    """An outside audit (41a): a KeyError or load_state_dict's RuntimeError inside the user's factory was "an
    internal error ... a bug in ganinv", cut to its first line; any TypeError inside was "does not take the
    options". Now it is the callable's error, whole; options its signature refuses are still said as such."""
    module = f"raising_{abs(hash(body)) % 10**6}"
    user_module(module, f"import torch\ndef make(nz=4):\n{body}")
    with pytest.raises(SourceError, match=said):
        load_generator(f"{module}:make")
    with pytest.raises(SourceError, match=r"does not take the options \['width'\]"):
        load_generator(f"{module}:make", options={"width": "3"})
    result = CliRunner().invoke(cli, ["inspect", "-g", f"{module}:make"])
    assert result.exit_code == 2 and "internal error" not in result.output


@pytest.mark.parametrize("source,said", [(":make", "names no module"), ("typed_factory:", "names no callable")])
def test_a_callable_source_without_a_module_or_a_name_is_one_clear_error(source, said):
    with pytest.raises(SourceError, match=said):
        load_generator(source)


def optional_input_source(argument: str, embedding: bool, compiled: bool = False) -> str:
    """A module whose forward(z, ARGUMENT) has a default, with or without a label embedding of 5 rows."""
    name = argument.split("=")[0]
    looked_up = (
        f"        labels = torch.zeros(len(z), dtype=torch.long) if {name} is None else {name}\n"
        "        return torch.tanh(self.fc(z * self.embed(labels))).view(-1, 1, 8, 8)\n"
        if embedding
        else "        return torch.tanh(self.fc(z)).view(-1, 1, 8, 8)\n"
    )
    return (
        "import torch\n"
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        + ("        self.embed = nn.Embedding(5, 4)\n" if embedding else "")
        + "        self.fc = nn.Linear(4, 64)\n"
        f"    def forward(self, z, {argument}):\n"
        + looked_up
        + f"def make():\n    return {'torch.compile(Net())' if compiled else 'Net()'}\n"
    )


@pytest.mark.parametrize("name", ["class_id", "cond", "c"])
@pytest.mark.parametrize("compiled", [False, True])
def test_an_optional_input_beside_a_label_embedding_is_refused_whatever_its_name(user_module, name, compiled):
    """An outside audit (41a): only ten label names were looked for, so `forward(z, class_id=None)` with a label
    embedding (and any name once torch.compile wrapped the module) loaded as its class-0 generator in silence."""
    module = f"optional_{name}_{int(compiled)}"
    user_module(module, optional_input_source(f"{name}=None", embedding=True, compiled=compiled))
    with pytest.raises(ArchitectureError, match=rf"optional '{name}' beside z.*an embedding of 5 rows"):
        load_generator(f"{module}:make", options={"spec.nz": 4})


@pytest.mark.parametrize(
    "argument,said",
    [
        ("c=None", r"optional 'c' beside z, left to its default \(None\).*--option inputs=z,c --option nc=N"),
        ("truncation=0.7", r"optional 'truncation' beside z, left to its default \(0.7\) for every image"),
    ],
)
def test_an_optional_input_without_an_embedding_is_said(user_module, argument, said):
    """An outside audit (41a): InfoGAN's codes as `forward(z, c=None)` were fixed at their default in silence."""
    module = f"optional_said_{argument.split('=')[0]}"
    user_module(module, optional_input_source(argument, embedding=False))
    with pytest.warns(UserWarning, match=said):
        load_generator(f"{module}:make", options={"spec.nz": 4})


class WholeRange(nn.Module):
    """Tanh (or Sigmoid) images that reach near both ends of their range, as trained generators' do."""

    def __init__(self, last: str = "tanh", scale: float = 1.0):
        super().__init__()
        torch.manual_seed(0)
        self.fc, self.last, self.scale = nn.Linear(NZ, 64), last, scale

    def forward(self, z, c=None, d=None):
        x = 6 * self.fc(z)
        return (torch.tanh(x) if self.last == "tanh" else torch.sigmoid(x)).view(-1, 1, 8, 8) * self.scale


@pytest.mark.parametrize(
    "last,declared,said",
    [
        ("sigmoid", "0,255", r"span \[[0-9.e-]+, 1\] natively, 0.39% of the declared output range.*--output-range 0,1"),
        ("tanh", "0,255", r"span \[-1, 1\] natively, 0.78% of the declared output range.*--output-range -1,1"),
        ("tanh", "0,1", r"span \[-1, 1\] natively, outside the declared output range \(0.0, 1.0\); pass --output-r"),
    ],
)
def test_a_declared_output_range_the_images_do_not_fit_is_refused_naming_theirs(user_module, last, declared, said):
    """An outside audit (41a): a [0, 1] or [-1, 1] generator declared 0,255 loaded in silence (or "a little beyond"
    the range, clamped) with every image black, and a fit trained on them; a Tanh net declared 0,1 was told it had
    no final Tanh. Each is refused naming the usual range that holds its values; that range loads."""
    module = f"whole_range_{last}_{declared.replace(',', '_')}"
    user_module(module, f"from test_user_modules import WholeRange\ndef make():\n    return WholeRange('{last}')\n")
    with pytest.raises(SpecMismatchError, match=said):
        load_generator(f"{module}:make", options={"spec.nz": NZ, "spec.native_output_range": declared})
    fitting = "0,1" if last == "sigmoid" else "-1,1"
    spec = GeneratorSpec(nz=NZ, image_shape=(1, 8, 8), native_output_range=tuple(map(float, declared.split(","))))
    with pytest.raises(SpecMismatchError, match=rf"declared output range.*--output-range {fitting}\b"):
        Generator(WholeRange(last), spec).probe()  # a spec of the user's, in Python
    load_generator(f"{module}:make", options={"spec.nz": NZ, "spec.native_output_range": fitting})


class EmbeddedLabels(nn.Module):
    """forward(z, labels) through a label embedding of 10 rows."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.fc = nn.Embedding(10, NZ), nn.Linear(NZ, 64)

    def forward(self, z, labels):
        return torch.tanh(self.fc(z * self.embed(labels))).view(-1, 1, 8, 8)


@pytest.mark.parametrize("scripted", [False, True])
def test_more_classes_than_the_label_embedding_has_are_named_not_a_fixed_batch(user_module, tmp_path, scripted):
    """An outside audit (41a): n_classes=20 on a 10-row embedding was told "it takes a fixed batch size; pass --option
    batch_size=2" (two random labels happened to fall below 10), and that advice gave the same message again."""
    options = {"spec.nz": NZ, "inputs": "z,labels", "n_classes": 20}
    if scripted:
        torch.jit.script(EmbeddedLabels()).save(str(tmp_path / "labels.ts"))
        source = str(tmp_path / "labels.ts")
    else:
        source = user_module("embedded", returning("EmbeddedLabels")) + ":make"
    for given in ({}, {"batch_size": 2}):
        with pytest.raises(
            SpecMismatchError,
            match=r"labels up to 19 index past its label embedding's 10 rows; give --option n_classes=10",
        ):
            load_generator(source, options={**options, **given})
    assert load_generator(source, options={**options, "n_classes": 10}).spec.n_classes == 10


def test_what_the_python_api_is_given_in_place_of_a_module_a_spec_or_latents_is_one_clear_error(user_module):
    """An outside audit (41a): Generator(net, dict) and Generator(function, spec) failed later as raw
    AttributeErrors, G.decode(tuple) and G(z on 'meta') were torch's errors, and --arch beside a module:callable
    was ignored in silence."""
    with pytest.raises(
        ganinv.errors.ArgumentError, match=r"spec is a dict, not a GeneratorSpec.*GeneratorSpec\(\*\*it\)"
    ):
        Generator(BatchNormNet(), {"nz": NZ, "image_shape": (1, 8, 8)})
    with pytest.raises(ganinv.errors.ArgumentError, match="net is a function, not a torch.nn.Module"):
        Generator(lambda z, c=None, d=None: z, SPEC)
    g = Generator(BatchNormNet(), SPEC)
    z = torch.randn(2, NZ)
    with pytest.raises(ganinv.errors.ArgumentError, match="G.decode takes the Latents"):
        g.decode((z, None, None))
    with pytest.raises(ValueError, match="z is on the meta device"):
        g(torch.empty(2, NZ, device="meta"))
    user_module(
        "arch_beside",
        "from test_user_modules import BatchNormNet, SPEC\ndef make():\n    return BatchNormNet(), SPEC\n",
    )
    with pytest.raises(SourceError, match="drop --arch dcgan"):
        load_generator("arch_beside:make", arch="dcgan")


def test_a_compiled_module_is_read_by_its_own_forwards_inputs(user_module):
    """An outside audit (41a): torch.compile's wrapper takes (*args, **kwargs), so a compiled forward(z, labels) was
    told to check --nz; its own forward names the inputs, as the uncompiled module's does."""
    user_module(
        "compiled_labels",
        "import torch\nfrom test_user_modules import EmbeddedLabels\n"
        "def make():\n    return torch.compile(EmbeddedLabels())\n",
    )
    with pytest.raises(ArchitectureError, match=r"the program takes 2 inputs \(z, labels\).*--option inputs=z,labels"):
        load_generator("compiled_labels:make", options={"spec.nz": NZ})


def test_typed_options_keep_a_string_an_annotation_allows_and_say_one_a_kwargs_factory_gets(user_module):
    """Review 42a: `nz: Union[int, str] = 16` refused `auto` (the default's type was taken over the annotation);
    `typing.Optional[int]` under `from __future__ import annotations` was not read; a `**kwargs` factory still got the
    truthy string 'false' in silence."""
    user_module(
        "typed_more",
        "from __future__ import annotations\n"
        "import typing\n"
        "from typing import Any, Union\n"
        "from test_user_modules import BatchNormNet, SPEC\n"
        "seen = {}\n"
        "def union(nz: Union[int, str] = 16):\n    seen['nz'] = nz\n    return BatchNormNet(), SPEC\n"
        "def anything(flag: Any = True):\n    seen['flag'] = flag\n    return BatchNormNet(), SPEC\n"
        "def optional(nz: typing.Optional[int] = None):\n    seen['nz'] = nz\n    return BatchNormNet(), SPEC\n"
        "def kwargs(**kw):\n    seen.update(kw)\n    return BatchNormNet(), SPEC\n",
    )
    import typed_more

    load_generator("typed_more:union", options={"nz": "auto"})
    assert typed_more.seen["nz"] == "auto"
    load_generator("typed_more:union", options={"nz": "32"})
    assert typed_more.seen["nz"] == "32"  # Union[int, str]: the string is a value it takes
    load_generator("typed_more:anything", options={"flag": "auto"})
    assert typed_more.seen["flag"] == "auto"
    load_generator("typed_more:optional", options={"nz": "16"})
    assert typed_more.seen["nz"] == 16
    with pytest.warns(UserWarning, match=r"--option use_ema=false reaches typed_more:kwargs as the string 'false'"):
        load_generator("typed_more:kwargs", options={"use_ema": "false"})


class Codebook(nn.Module):
    """A VQ decoder: a codebook nn.Embedding looked up by z's nearest codes, and a float `temperature` (review 42a)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.codebook, self.fc = nn.Embedding(32, NZ), nn.Linear(NZ, 64)

    def forward(self, z, temperature=1.0):
        weights = torch.softmax(-torch.cdist(z, self.codebook.weight) / temperature, dim=1)
        return torch.tanh(self.fc(weights @ self.codebook.weight)).view(-1, 1, 8, 8)


def test_an_embedding_beside_a_float_default_is_no_label_embedding(user_module):
    """Review 42a: any nn.Embedding made any defaulted input a label: a VQ codebook beside `temperature=1.0` was
    refused, told to feed it 32 classes. The default is said, as without an embedding."""
    user_module("codebook", returning("Codebook"))
    with pytest.warns(UserWarning, match=r"optional 'temperature' beside z, left to its default \(1.0\)"):
        load_generator("codebook:make", options={"spec.nz": NZ})


class LinearUnitDipping(nn.Module):
    """A [0, 1]-trained net with a linear last layer that dips to about -0.3 (review 42a: told -1,1, which loaded it
    wrongly in silence)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(NZ, 64)

    def forward(self, z, c=None, d=None):
        return (torch.sigmoid(3 * self.fc(z)) * 1.2 - 0.3).view(-1, 1, 8, 8)


def test_a_unit_range_net_dipping_below_zero_is_not_told_minus_one_to_one(user_module):
    user_module("dipping", returning("LinearUnitDipping"))
    with pytest.raises(
        SpecMismatchError, match=r"outside the declared output range \(0.0, 1.0\); the generator's output is not"
    ):
        load_generator("dipping:make", options={"spec.nz": NZ, "spec.native_output_range": "0,1"})


class PositionsThenLabels(EmbeddedLabels):
    """A position table registered before the label table (review 42a: the first table's rows were named)."""

    def __init__(self):
        super().__init__()
        self.positions = nn.Embedding(49, NZ)
        self.embed = nn.Embedding(10, NZ)


class Weightless(nn.Module):
    """No parameters or buffers: it runs on whatever device its latents are on (review 42a: refused on meta)."""

    def forward(self, z, c=None, d=None):
        return torch.tanh(z).view(-1, 1, 2, 2)


class ImagesAndPreview(BatchNormNet):
    """(images (1, 8, 8), a 2x upsampled preview (1, 16, 16)): the images come first (review 42a: refused)."""

    def forward(self, z, c=None, d=None):
        images = super().forward(z)
        return images, nn.functional.interpolate(images, scale_factor=2)


def test_review_42a_tables_previews_weightless_modules_and_huge_integers(user_module):
    user_module("positions_then_labels", returning("PositionsThenLabels"))
    with pytest.raises(
        SpecMismatchError, match=r"index past one of its embeddings \(of \d+, \d+ rows\); give --option n_classes=K"
    ):
        load_generator("positions_then_labels:make", options={"spec.nz": NZ, "inputs": "z,labels", "n_classes": 60})
    user_module("images_preview", returning("ImagesAndPreview"))
    with pytest.warns(
        UserWarning, match=r"first element is taken as the images; element 1 holds larger images \(1, 16, 16\)"
    ):
        g = load_generator("images_preview:make", options={"spec.nz": NZ})
    assert g.spec.image_shape == (1, 8, 8)
    weightless = Generator(Weightless(), GeneratorSpec(nz=4, image_shape=(1, 2, 2)))
    assert weightless(torch.empty(2, 4, device="meta")).shape == (2, 1, 2, 2)
    user_module(
        "int_factory",
        "from test_user_modules import BatchNormNet, SPEC\ndef make(nz: int = 4):\n    return BatchNormNet(), SPEC\n",
    )
    with pytest.raises(
        SourceError,
        match=r"--option nz=99999999999999999999: int_factory:make's nz takes int; give an integer no larger",
    ):
        load_generator("int_factory:make", options={"nz": "99999999999999999999"})


class LabelsAfterTruncation(EmbeddedLabels):
    """BigGAN-like forward(z, truncation=1.0, labels=None) (review 42a: labels fed into truncation)."""

    def forward(self, z, truncation=1.0, labels=None):
        labels = torch.zeros(len(z), dtype=torch.long) if labels is None else labels
        return super().forward(z * truncation, labels)


def test_labels_are_not_fed_by_position_into_an_input_of_another_name(user_module):
    user_module("after_truncation", returning("LabelsAfterTruncation"))
    with pytest.raises(
        ArchitectureError, match=r"so the program's 'truncation' would get the labels its 'labels' takes"
    ):
        load_generator("after_truncation:make", options={"spec.nz": NZ, "inputs": "z,labels", "n_classes": 10})


def test_a_faint_generator_under_a_wide_declared_range_is_said_not_refused(user_module):
    """Review 42a: a 16-bit generator of faint images declared 0,65535 was refused and told 0,255."""
    spec = GeneratorSpec(nz=NZ, image_shape=(1, 8, 8), native_output_range=(0.0, 65535.0))
    with pytest.warns(UserWarning, match=r"of the declared output range \(0.0, 65535.0\).*if the generator's range is"):
        Generator(WholeRange("sigmoid", scale=140.0), spec).probe()


class TwoLayers(nn.Module):
    """Two layers of one shape, whose weights may trade places: the same tensors, another generator."""

    def __init__(self, swapped: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.first, self.second = nn.Linear(NZ, NZ), nn.Linear(NZ, NZ)
        if swapped:
            self.first, self.second = self.second, self.first

    def forward(self, z, c=None, d=None):
        return torch.tanh(self.second(torch.relu(self.first(z)))).repeat(1, 64 // NZ).view(-1, 1, 8, 8)


class Signed(nn.Module):
    """No weights at all: only the code tells two of them apart."""

    def __init__(self, sign: float):
        super().__init__()
        self.sign = sign

    def forward(self, z):
        return self.sign * torch.tanh(z[:, :1]).repeat(1, 64).view(-1, 1, 8, 8)


def test_the_same_tensors_in_another_order_or_no_tensors_at_all_are_still_another_generator(tmp_path, user_module):
    """A review: the names-and-order-free fingerprint missed two layers trading places, and called every two
    weightless programs alike; 10c50f9 had warned of both."""
    spec = "GeneratorSpec(nz=%d, image_shape=(1, 8, 8))" % NZ
    user_module(
        "ordered",
        "from ganinv.spec import GeneratorSpec\nfrom test_user_modules import TwoLayers\n"
        f"def make():\n    return TwoLayers(), {spec}\ndef swapped():\n    return TwoLayers(True), {spec}\n",
    )
    Inverter.for_generator(load_generator("ordered:make"), width=4, hidden=8).save_pretrained(tmp_path / "inv")
    with pytest.warns(UserWarning, match=r"holds weights of sha256 .* was fitted on ordered:make's weights"):
        Inverter.load(str(tmp_path / "inv"), generator="ordered:swapped", trust_remote_code=True)
    user_module(  # the same tensors, another forward (a review: nothing was said)
        "negated",
        "from ganinv.spec import GeneratorSpec\nfrom test_user_modules import TwoLayers\n"
        "class Negated(TwoLayers):\n    def forward(self, z, c=None, d=None):\n        return -super().forward(z)\n"
        f"def make():\n    return Negated(), {spec}\n",
    )
    with pytest.warns(UserWarning, match=r"cannot tell whether its code computes the same images"):
        Inverter.load(str(tmp_path / "inv"), generator="negated:make", trust_remote_code=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sign in (1, -1):
            torch.jit.script(Signed(float(sign))).save(str(tmp_path / f"signed{sign}.ts"))
    fitted = load_generator(str(tmp_path / "signed1.ts"), options={"spec.nz": NZ})
    Inverter.for_generator(fitted, width=4, hidden=8).save_pretrained(tmp_path / "inv_signed")
    with pytest.warns(UserWarning, match=r"holds weights of sha256 .* was fitted on \S*signed1.ts's weights"):
        Inverter.load(str(tmp_path / "inv_signed"), generator=str(tmp_path / "signed-1.ts"))


def test_a_frozen_torchscript_generator_loads_and_makes_its_images(tmp_path):
    """A review: `torch.jit.freeze`'s module, the usual deployment form, has no `training` flag, and loading it was an
    internal error. It is in eval mode for good."""
    module = nn.Sequential(nn.Linear(NZ, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8))).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.freeze(torch.jit.script(module)).save(str(tmp_path / "frozen.ts"))
        g = load_generator(str(tmp_path / "frozen.ts"), options={"spec.nz": NZ})
    latents = g.sample_latents(3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), module(latents.z))


def test_a_prior_range_alone_for_a_normal_prior_is_refused_for_a_program_too(tmp_path):
    """A review: `--option spec.native_prior_range=1,-1` alone, which a normal prior never reads, was taken in silence
    for a program and a callable's module, where a generator read from weights refused it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(BatchNormNet().eval(), torch.randn(2, NZ)).save(str(tmp_path / "g.ts"))
    for args in (["-g", str(tmp_path / "g.ts"), "--nz", str(NZ)], ["-g", "builtin:mnist"]):
        result = CliRunner().invoke(cli, ["inspect", *args, "--option", "spec.native_prior_range=1,-1"])
        assert result.exit_code == 2 and "bounds a uniform or truncated_normal prior" in result.output, result.output


def test_what_a_generators_code_prints_stays_off_the_results(user_module):
    """A factory or forward that prints went to stdout, before the results (`inspect --json` did not parse), and one
    that called sys.exit ended ganinv with its code and no word (an outside audit, 49a)."""
    user_module(
        "noisy",
        "import sys, torch\nfrom test_user_modules import BatchNormNet, SPEC\n"
        "class Loud(BatchNormNet):\n    def forward(self, *args):\n        print('forward called')\n"
        "        return super().forward(*args)\n"
        "def make():\n    print('loading generator... done')\n    return Loud(), SPEC\n"
        "def leave():\n    sys.exit(3)\n",
    )
    result = CliRunner().invoke(cli, ["inspect", "-g", "noisy:make", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == "noisy:make"
    assert "loading generator... done" in result.stderr and "forward called" in result.stderr
    result = CliRunner().invoke(cli, ["inspect", "-g", "noisy:leave"])
    assert result.exit_code == 2 and "noisy:leave called sys.exit(3) while building the generator" in result.output


def test_images_on_another_device_than_the_latents_are_named(user_module):
    """A forward returning its images on another device (here the meta device, standing in for a GPU) was an internal
    error ("Tensor.item() cannot be called on meta tensors": an outside audit, 49a)."""
    user_module(
        "elsewhere",
        "from test_user_modules import BatchNormNet, SPEC\n"
        "class Moved(BatchNormNet):\n    def forward(self, *args):\n        return super().forward(*args).to('meta')\n"
        "def make():\n    return Moved(), SPEC\n",
    )
    result = CliRunner().invoke(cli, ["inspect", "-g", "elsewhere:make"])
    assert result.exit_code == 2, result.output
    assert "returns images on device meta for latents on cpu" in result.output and "internal error" not in result.output


def test_a_module_made_at_import_is_the_generator_and_a_forward_is_named_as_such(user_module):
    """An outside audit (57b): `mod:instance`, an nn.Module made at import, had its forward() called with no argument
    and the error blamed the user's code; a plain function of z was "does not take the options []". The instance is
    the generator; the function is named as a forward, with what a module:callable returns."""
    name = user_module(
        "made_at_import",
        "import torch\nfrom test_user_modules import BatchNormNet\ninstance = BatchNormNet().eval()\n"
        "def forward(z):\n    return instance(z).numpy()\n",
    )
    g = load_generator(f"{name}:instance", options={"spec.nz": NZ})
    latents = g.sample_latents(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), BatchNormNet().eval()(latents.z), rtol=0, atol=1e-6)
    with pytest.raises(SourceError, match="a function of z is a forward: name the module, or a function or class"):
        load_generator(f"{name}:forward", options={"spec.nz": NZ})


def test_a_torchscript_file_named_pt2_loads_and_a_damaged_one_is_one_line(tmp_path):
    """An outside audit (57b): a TorchScript program saved as .pt2 was read as a damaged torch.export archive, and
    torch's own log of the failure printed a 24-line traceback above ganinv's error."""
    import subprocess
    import sys

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(BatchNormNet().eval(), torch.randn(2, NZ)).save(str(tmp_path / "traced.pt2"))
    g = load_generator(str(tmp_path / "traced.pt2"), options={"spec.nz": NZ})
    assert g.spec.image_shape == (1, 8, 8)
    (tmp_path / "damaged.pt2").write_bytes(b"PK\x03\x04 cut short")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganinv",
            "sample",
            "-g",
            str(tmp_path / "damaged.pt2"),
            "--nz",
            str(NZ),
            "-n",
            "2",
            "--out",
            str(tmp_path / "s.png"),
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "GANINV_DEBUG"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: cannot load"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_program_whose_first_layer_takes_z_and_a_label_is_named_as_such(tmp_path):
    """An outside audit (57b): a program taking cat(z, one-hot) as one input failed with "check --nz", which led to
    --nz of both, the label's slots fed noise. The first layer's width is named, with the wrapper to write."""
    net = nn.Sequential(nn.Linear(NZ + 3, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(net.eval(), torch.randn(2, NZ + 3)).save(str(tmp_path / "cat.ts"))
    with pytest.raises(ArchitectureError, match=rf"its first layer takes {NZ + 3} inputs, 3 more than z's: a one-hot"):
        load_generator(str(tmp_path / "cat.ts"), options={"spec.nz": NZ})
