"""The generator contract (docs/algorithms.md §1): spec round-trip, standardised latents, probe errors."""

from typing import Optional

import pytest
import torch
from torch import nn

from ganinv.errors import SourceError, SpecMismatchError
from ganinv.generator import Generator
from ganinv.spec import GeneratorSpec, Latents


class Echo(nn.Module):
    """A native module that returns its z as a 1x4x4 image, scaled and shifted."""

    def __init__(self, scale=1.0, shift=0.0):
        super().__init__()
        self.scale, self.shift = scale, shift
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, z, c=None, d=None):
        return (self.w * z.reshape(z.shape[0], 1, 4, 4)) * self.scale + self.shift


def test_spec_json_round_trip():
    spec = GeneratorSpec(
        nz=64,
        image_shape=(1, 28, 28),
        nc=2,
        n_classes=10,
        native_prior="uniform",
        native_latent_shape=(64, 1, 1),
        native_output_range=(0, 255),
    )
    assert GeneratorSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError, match="unknown generator spec fields"):
        GeneratorSpec.from_dict({**spec.to_dict(), "bogus": 1})


def test_uniform_prior_is_reached_through_the_normal_cdf():
    spec = GeneratorSpec(
        nz=16, image_shape=(1, 4, 4), native_prior="uniform", native_prior_range=(-1, 1), native_latent_shape=(16, 1, 1)
    )
    g = Generator(Echo(), spec)
    z = torch.randn(20000, 16, generator=torch.Generator().manual_seed(0))
    native = g.to_native_z(z)
    assert native.shape == (20000, 16, 1, 1)
    assert native.min() >= -1 and native.max() <= 1
    # U(-1, 1) has mean 0 and variance 1/3.
    assert abs(native.mean().item()) < 0.01 and abs(native.var().item() - 1 / 3) < 0.01


def test_output_range_is_rescaled_and_gradients_reach_latents():
    spec = GeneratorSpec(nz=16, image_shape=(1, 4, 4), native_output_range=(0, 255))
    g = Generator(Echo(scale=0.0, shift=255.0), spec)
    z = torch.randn(3, 16, requires_grad=True)
    assert torch.allclose(g(z), torch.ones(3, 1, 4, 4))
    g2 = Generator(Echo(), GeneratorSpec(nz=16, image_shape=(1, 4, 4)))
    g2(z).sum().backward()
    assert z.grad is not None and torch.allclose(z.grad, torch.ones_like(z))
    assert all(not p.requires_grad for p in g2.parameters())
    g2.train()
    assert not g2.training  # a frozen generator stays in eval mode: each call runs its module so (modes_for_call)


def test_sample_is_seeded_and_one_hot():
    g = Generator(Echo(scale=0.1), GeneratorSpec(nz=16, image_shape=(1, 4, 4), nc=0, n_classes=3))
    a, xa = g.sample(5, generator=torch.Generator().manual_seed(1))
    b, xb = g.sample(5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(xa, xb) and torch.equal(a.d, b.d)
    assert torch.equal(a.d.sum(1), torch.ones(5))
    assert Latents.cat([a, b]).z.shape == (10, 16)


@pytest.mark.parametrize(
    "shift,scale,declared,match",
    [
        (0.5, 0.1, (-1, 1), "--output-range 0,1"),  # a [0,1] generator declared as [-1,1]
        (0.0, 100.0, (-1, 1), "--output-range"),  # values far outside the declared range
    ],
)
def test_probe_names_the_flag_that_fixes_it(shift, scale, declared, match):
    spec = GeneratorSpec(nz=16, image_shape=(1, 4, 4), native_output_range=declared)
    g = Generator(Echo(scale=scale, shift=shift), spec)
    if shift == 0.5:
        g.net.forward = lambda z, c=None, d=None: torch.sigmoid(3 * z.reshape(z.shape[0], 1, 4, 4))  # in (0, 1)
    with pytest.raises(SpecMismatchError, match=match):
        g.probe()


def test_probe_reports_shape_mismatch():
    g = Generator(Echo(scale=0.1), GeneratorSpec(nz=16, image_shape=(1, 8, 8)))
    with pytest.raises(SpecMismatchError, match="--image-shape 1,4,4"):
        g.probe()


@pytest.mark.parametrize("bounds", [(1, 1), (2, 1), (float("nan"), 1), (0, float("inf")), (0, 1, 2)])
def test_an_output_range_must_be_two_finite_increasing_bounds(bounds):
    """`--output-range 1,1` divided by zero and `nan,1` blamed the weights (audit 5): the spec refuses them."""
    with pytest.raises(ValueError, match="native_output_range must be two finite bounds lo < hi"):
        GeneratorSpec(nz=4, image_shape=(1, 4, 4), native_output_range=bounds)


# ---- contracts a foreign module or program may break (audit 8) ----------------------------------------------


class Odd(nn.Module):
    """z (N, 6) -> (N, 1, 8, 8) images in (-1, 1), breaking the contract as `mode` says."""

    def __init__(self, mode: str = "fine"):
        super().__init__()
        torch.manual_seed(0)
        self.mode, self.fc = mode, nn.Linear(6, 64)

    def forward(self, z, c=None, d=None):
        h = self.fc(z)
        if self.mode == "noise":
            h = h + 0.5 * torch.randn_like(h)
        if self.mode == "dropout":
            h = nn.functional.dropout(h, 0.3, training=True)
        x = torch.tanh(h).reshape(-1, 1, 8, 8)
        if self.mode == "nan_some":
            x = torch.where((z[:, :1] > 2.0).reshape(-1, 1, 1, 1), torch.full_like(x, float("nan")), x)
        return x.permute(0, 2, 3, 1) if self.mode == "nhwc" else x


ODD_SPEC = GeneratorSpec(nz=6, image_shape=(1, 8, 8))


@pytest.mark.parametrize("mode", ["noise", "dropout"])
def test_a_generator_that_is_not_a_function_of_its_latents_is_refused(mode):
    """Noise inside forward or dropout in training mode: the same latents gave images differing by 1.7, and fit,
    invert and loglik went on in silence."""
    with pytest.raises(SpecMismatchError, match=r"not a function of its latents.*eval mode"):
        Generator(Odd(mode), ODD_SPEC).probe()
    Generator(Odd("fine"), ODD_SPEC).probe()


def test_channels_last_images_are_refused_naming_the_permute():
    spec = GeneratorSpec(nz=6, image_shape=(8, 8, 1))  # as found by running a program
    with pytest.raises(SpecMismatchError, match=r"channels last.*permute\(0, 3, 1, 2\)"):
        Generator(Odd("nhwc"), spec).probe()
    with pytest.raises(SpecMismatchError, match="channels last"):
        Generator(Odd("nhwc"), ODD_SPEC).probe()


def test_a_float64_module_is_fed_and_read_in_its_dtype():
    """It loaded and sampled, then fit and invert failed with an internal dtype error."""
    single, double = Generator(Odd(), ODD_SPEC), Generator(Odd().double(), ODD_SPEC)
    z = torch.randn(4, 6, requires_grad=True)
    x = double(z)
    assert x.dtype == torch.float32
    torch.testing.assert_close(x, single(z), atol=1e-6, rtol=0)
    x.square().sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_a_generator_that_makes_nan_for_some_latents_is_blamed_not_the_fit(tmp_path):
    """NaN for 2% of latents passed the load-time probe; the fit's NaN loss was blamed on --lr and --sigma-x."""
    from ganinv.divergence import check_losses
    from ganinv.errors import DivergedError
    from ganinv.runs import Run

    run = Run(tmp_path / "run")
    with pytest.raises(DivergedError, match=r"generator itself makes NaN or infinite images for \d+ of 1024"):
        check_losses({"loss": float("nan")}, 10, run, "a lower --lr", Generator(Odd("nan_some"), ODD_SPEC))
    with pytest.raises(DivergedError, match="a lower --lr"):
        check_losses({"loss": float("nan")}, 10, run, "a lower --lr", Generator(Odd("fine"), ODD_SPEC))


class Program(nn.Module):
    """A TorchScript-able generator: z (N, 6) [and labels (N,)] -> (N, 1, 8, 8)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc, self.embed = nn.Linear(6, 64), nn.Embedding(3, 64)

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.fc(z)
        if labels is not None:
            h = h + self.embed(labels)
        return torch.tanh(h).reshape(-1, 1, 8, 8)


class ProgramWithTuple(Program):
    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tanh(self.fc(z)).reshape(-1, 1, 8, 8), z


class ProgramWithDict(Program):
    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        return {"images": torch.tanh(self.fc(z)).reshape(-1, 1, 8, 8)}


def test_programs_that_return_more_than_images_or_take_labels(tmp_path):
    """A dict output was blamed on --nz, a tuple's first element taken in silence, a float64 program failed with an
    internal error, and a conditional program's --option n_classes=K was refused (audit 8)."""
    from ganinv.errors import GaninvError
    from ganinv.sources import load_generator

    def saved(module: nn.Module, name: str) -> str:
        path = tmp_path / name
        torch.jit.script(module).save(str(path))
        return str(path)

    with pytest.warns(UserWarning, match="returns a tuple of 2; its first element is taken"):
        load_generator(saved(ProgramWithTuple(), "tuple.ts"), options={"spec.nz": 6, "inputs": "z"})
    with pytest.raises(GaninvError, match=r"returns a dict \(images\), not images; wrap it") as refused:
        load_generator(saved(ProgramWithDict(), "dict.ts"), options={"spec.nz": 6, "inputs": "z"})
    assert "--nz" not in str(refused.value)
    g = load_generator(saved(Program().double(), "f64.ts"), options={"spec.nz": 6, "inputs": "z"})
    torch.testing.assert_close(
        g(torch.zeros(2, 6)), torch.tanh(Program().fc.bias).reshape(1, 1, 8, 8).expand(2, -1, -1, -1)
    )
    g = load_generator(saved(Program(), "cond.ts"), options={"spec.nz": 6, "n_classes": 3, "inputs": "z,labels"})
    assert g.spec.n_classes == 3
    z = torch.randn(3, 6)
    with torch.no_grad():
        torch.testing.assert_close(g(z, None, torch.eye(3)), Program()(z, torch.arange(3)))


class PlainProgram(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(6, 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).reshape(-1, 1, 8, 8)


def test_a_program_given_to_an_inverter_takes_the_inverter_spec(tmp_path):
    """`invert`/`loglik -g OTHER.pt` said "pass --nz N", a flag neither command has (audit 8)."""
    import shutil

    from ganinv.inverter import Inverter
    from ganinv.sources import load_generator

    torch.jit.script(PlainProgram()).save(str(tmp_path / "a.ts"))
    g = load_generator(str(tmp_path / "a.ts"), options={"spec.nz": 6})
    Inverter.for_generator(g, width=4, hidden=8).save_pretrained(tmp_path / "inverter")
    shutil.copy(tmp_path / "a.ts", tmp_path / "b.ts")  # the same program under another name: no recorded options
    loaded = Inverter.load(str(tmp_path / "inverter"), generator=str(tmp_path / "b.ts"))
    assert loaded.generator.spec.nz == 6 and loaded.generator.spec.image_shape == (1, 8, 8)


def test_a_program_traced_or_exported_in_training_mode_is_refused(tmp_path):
    """Audit 17a F1: `torch.jit.trace(G.train(), z)` (the forgotten `.eval()` before exporting) loaded in silence: its
    BatchNorm normalises by the batch, so one latent's image depended on the others (0.29 between batches of 8 and 2),
    and decoding one batch twice agreed. The same latents in a smaller batch must give the same images."""
    import zoo

    from ganinv.sources import load_generator

    case = zoo.case("pytorch-examples-dcgan")
    z = torch.randn(16, case.nz, 1, 1)
    trained = case.build()
    torch.jit.trace(trained.train(), z).save(str(tmp_path / "train.ts"))
    torch.export.save(torch.export.export(trained.train(), (z,)), str(tmp_path / "train.pt2"))
    spec = {"spec.nz": case.nz, "spec.native_latent_shape": "nz,1,1"}
    for name in ("train.ts", "train.pt2"):
        with pytest.raises(SourceError, match=r"whose BatchNorm runs in training mode.*after G.eval\(\)"):
            load_generator(str(tmp_path / name), options=spec if name.endswith(".ts") else None)  # read off its graph
    torch.jit.trace(trained.eval(), z).save(str(tmp_path / "eval.ts"))
    load_generator(str(tmp_path / "eval.ts"), options=spec)  # the author's eval-mode program loads


def test_a_program_saved_in_training_mode_is_not_run_in_it_while_loaded(tmp_path):
    """Audit 17a F4: a scripted DCGAN saved without `.eval()` was probed for its image shape in training mode, which
    moved its BatchNorm running statistics: images 0.035 off the author's eval-mode module, nothing said."""
    import zoo

    from ganinv.sources import load_generator

    case = zoo.case("pytorch-examples-dcgan")
    module = case.build()
    torch.jit.script(module.train()).save(str(tmp_path / "train.ts"))
    module.eval()
    generator = load_generator(
        str(tmp_path / "train.ts"), options={"spec.nz": case.nz, "spec.native_latent_shape": "nz,1,1"}
    )
    latents = zoo.latents_for(case, 6)
    with torch.no_grad():
        torch.testing.assert_close(generator.decode(latents), case.reference(module, latents), atol=1e-5, rtol=0)
