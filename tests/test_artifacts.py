"""Inverter artifacts through `PyTorchModelHubMixin`'s hooks: save, load, push, with the generator bundled."""

from pathlib import Path

import pytest
import torch
import zoo
from huggingface_hub import HfApi, RepoUrl

from ganinv.errors import GaninvError, SourceError, UnsafeFileError
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.sources import load_generator, save_generator
from ganinv.spec import GeneratorSpec

CASE = zoo.case("pytorch-examples-dcgan")


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """A generator of a registered architecture, loaded from a file as a user's would be."""
    folder = tmp_path_factory.mktemp("gen")
    torch.save(CASE.build().state_dict(), folder / "g.pth")
    return load_generator(str(folder / "g.pth"))


@pytest.fixture
def inverter(generator):
    torch.manual_seed(0)
    return Inverter.for_generator(generator, width=4, hidden=16).eval()


@pytest.fixture
def hub_calls(monkeypatch):
    """The Hub client's two upload calls, intercepted at its boundary: what would be sent, and where."""
    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id))
        return RepoUrl(f"https://huggingface.co/{repo_id if '/' in repo_id else 'me/' + repo_id}")  # as the Hub

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        files = sorted(str(p.relative_to(folder_path)) for p in Path(folder_path).rglob("*") if p.is_file())
        calls.append(("upload_folder", repo_id, files))
        return f"https://huggingface.co/{repo_id}/commit/0"

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return calls


BUNDLE = ["README.md", "config.json", "generator/config.json", "generator/model.safetensors", "model.safetensors"]


def test_save_bundles_the_generator_and_from_pretrained_uses_it(tmp_path, inverter, generator):
    inverter.save_pretrained(tmp_path / "artifact")
    assert (
        sorted(str(p.relative_to(tmp_path / "artifact")) for p in (tmp_path / "artifact").rglob("*") if p.is_file())
        == BUNDLE
    )
    loaded = Inverter.from_pretrained(str(tmp_path / "artifact"))  # the mixin's own entry point
    assert loaded.generator.source == str(tmp_path / "artifact" / "generator")  # the bundled copy, not the file
    x = generator.sample(3, generator=torch.Generator().manual_seed(1))[1]
    with torch.no_grad():
        torch.testing.assert_close(loaded.reconstruct(x), inverter.reconstruct(x), rtol=0, atol=1e-6)
    assert not loaded.training


def test_saved_files_get_the_umasks_modes(tmp_path, inverter):
    """Audit 10c: the inverter's model.safetensors was written 0600 (safetensors' writer) and every other file 0644,
    so a run folder shared with another user could not be read."""
    import os
    import stat

    umask = os.umask(0o022)
    try:
        inverter.save_pretrained(tmp_path / "artifact")
    finally:
        os.umask(umask)
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "artifact").rglob("*")}
    assert modes and all(mode in (0o644, 0o755) for mode in modes.values()), modes


def test_load_is_from_pretrained_plus_run_folders(tmp_path, inverter):
    inverter.save_pretrained(tmp_path / "run" / "inverter")
    a, b = Inverter.load(str(tmp_path / "run")), Inverter.from_pretrained(str(tmp_path / "run" / "inverter"))
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_save_pretrained_with_push_to_hub_names_the_repo_after_the_folder(tmp_path, inverter, hub_calls):
    inverter.save_pretrained(tmp_path / "my-inverter", push_to_hub=True)
    assert hub_calls[0] == ("create_repo", "my-inverter")  # not the temporary folder of the atomic save
    assert hub_calls[1][:2] == ("upload_folder", "me/my-inverter") and hub_calls[1][2] == BUNDLE
    inverter.save_pretrained(tmp_path / "other", push_to_hub=True, repo_id="me/inverter")
    assert hub_calls[2] == ("create_repo", "me/inverter")


def test_push_to_hub_uploads_the_generator_too(inverter, hub_calls):
    inverter.push_to_hub("me/inverter")
    assert hub_calls == [("create_repo", "me/inverter"), ("upload_folder", "me/inverter", BUNDLE)]


def test_an_artifact_records_a_bundled_generator_by_its_file_name_only(tmp_path, inverter, generator):
    """Pushed inverters told strangers the author's folders (generator_ref held the path as typed, e.g. a home
    folder); an artifact that bundles its generator needs only the copy, so it records the file's name."""
    import json

    inverter.save_pretrained(tmp_path / "artifact")
    folder = str(Path(generator.source).parent)
    for path in (tmp_path / "artifact").rglob("*.json"):
        assert folder not in path.read_text(), path
    ref = json.loads((tmp_path / "artifact" / "config.json").read_text())["generator_ref"]
    assert ref["source"] == "g.pth" and ref["meta"]["weights_sha256"] == generator.meta["weights_sha256"]
    assert inverter.generator_ref["source"] == generator.source  # the model in memory is unchanged
    loaded = Inverter.load(str(tmp_path / "artifact"))
    assert loaded.generator.source == str(tmp_path / "artifact" / "generator")
    again = Inverter.load(str(tmp_path / "artifact"), generator=generator.source)  # named by its full path again
    assert again.generator.meta["options"] == generator.meta["options"]


def test_an_artifact_that_references_its_generator_keeps_the_path_until_published(tmp_path, inverter, generator):
    """Without the copy, a local artifact finds its generator by the path; published, the path names nothing."""
    import json

    from ganinv.cli.fit import push_folder

    inverter.save_pretrained(tmp_path / "ref", include_generator=False)
    assert json.loads((tmp_path / "ref" / "config.json").read_text())["generator_ref"]["source"] == generator.source
    program = Generator(inverter.generator.net, inverter.spec, source="/home/alice/secret-project/g.ts", meta={})
    opaque = Inverter.for_generator(program, width=4, hidden=16)
    sent = []

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        sent.append(json.loads((Path(folder_path) / "config.json").read_text())["generator_ref"]["source"])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: RepoUrl(f"https://huggingface.co/{repo_id}"))
        patch.setattr(HfApi, "upload_folder", upload_folder)
        opaque.push_to_hub("me/inverter")  # the Python API
        push_folder(tmp_path / "ref", "me/inverter")  # the CLI's --push-to-hub
    assert sent == ["g.ts", "g.pth"]
    assert json.loads((tmp_path / "ref" / "config.json").read_text())["generator_ref"]["source"] == generator.source
    opaque.save_pretrained(tmp_path / "opaque")  # saved locally after the push: the path again
    assert json.loads((tmp_path / "opaque" / "config.json").read_text())["generator_ref"]["source"] == program.source


def test_a_reloaded_artifact_saves_its_bundle_again_without_loading_it(tmp_path, inverter):
    inverter.save_pretrained(tmp_path / "a")
    Inverter.load(str(tmp_path / "a")).save_pretrained(tmp_path / "b")
    assert (tmp_path / "b" / "generator" / "model.safetensors").read_bytes() == (
        tmp_path / "a" / "generator" / "model.safetensors"
    ).read_bytes()


def test_include_generator_false_references_it_and_true_requires_it(tmp_path, inverter):
    inverter.save_pretrained(tmp_path / "ref", include_generator=False)
    assert not (tmp_path / "ref" / "generator").exists()
    program = Generator(inverter.generator.net, inverter.spec, source="g.ts", meta={"architecture": "opaque"})
    opaque = Inverter.for_generator(program, width=4, hidden=16)  # e.g. TorchScript: not savable as weights
    with pytest.raises(SourceError, match="only generators of a registered architecture"):
        opaque.save_pretrained(tmp_path / "opaque", include_generator=True)
    assert not (tmp_path / "opaque").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "config.json").write_text("{not json"), "is not valid JSON"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 7), "is not a readable safetensors file"),
        (
            lambda f: (f / "config.json").write_text(
                (f / "config.json").read_text().replace('"width": 4', '"width": 1000')
            ),
            "stored vs config",
        ),  # GBs if built
        (
            lambda f: (f / "config.json").write_text(
                (f / "config.json").read_text().replace('"width": 4', '"width": 100000')
            ),
            r"width must be a whole number in \[1, 1024\], got 100000",
        ),  # 100 GB if built
        (lambda f: (f / "config.json").write_text('{"fit": {}}'), "holds no inverter artifact"),
        (  # a pickle in place of the weights: never read, and named (it was "not a readable safetensors file")
            lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
            r"has no model.safetensors \(it holds pytorch_model.bin: pickles, which ganinv never reads",
        ),
        (
            lambda f: (f / "config.json").write_text(
                (f / "config.json").read_text().replace('"hidden": 16', '"hidden": 32')
            ),
            "weights do not fit",
        ),
    ],
)
def test_a_damaged_artifact_is_one_clear_error(tmp_path, inverter, damage, message):
    inverter.save_pretrained(tmp_path / "artifact")
    damage(tmp_path / "artifact")
    with pytest.raises(SourceError, match=message) as info:
        Inverter.load(str(tmp_path / "artifact"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "failure",
    [MemoryError(), OSError(12, "Cannot allocate memory"), RuntimeError("Cannot allocate memory (os error 12)")],
)
def test_running_out_of_memory_while_loading_is_not_called_damage(tmp_path, inverter, monkeypatch, failure):
    """An address-space limit made the intact artifact "damaged or edited: save or download the artifact again"
    (an outside audit, 51b): the machine's refusal passes as it is, for the command line's out-of-memory line."""
    inverter.save_pretrained(tmp_path / "artifact")

    def refuse(*args, **kwargs):
        raise failure

    monkeypatch.setattr(Inverter, "from_pretrained", classmethod(refuse))
    with pytest.raises(type(failure)):
        Inverter.load(str(tmp_path / "artifact"))


def test_a_generator_folder_given_as_the_inverter_is_named_as_such(tmp_path, inverter):
    """It was "its weights do not fit its config.json ... damaged, save or download it again" (audit 28b F4)."""
    inverter.save_pretrained(tmp_path / "artifact")
    with pytest.raises(SourceError, match=r"is a generator folder \(ganinv's generator layout\), not an inverter"):
        Inverter.load(str(tmp_path / "artifact" / "generator"))


def test_a_bundled_generator_replaced_since_the_save_is_refused(tmp_path, inverter, generator):
    """Another generator's weights in the artifact's generator/ were used in silence (audit 28b F1): the artifact
    records the sha256 of the copy it bundled. Given with -g, the generator is taken, and the swap said."""
    inverter.save_pretrained(tmp_path / "artifact")
    assert Inverter.load(str(tmp_path / "artifact")).generator.spec == generator.spec  # as saved: loads
    other = load_generator(str(save_generator(generator, tmp_path / "other")))
    with torch.no_grad():
        for p in other.net.parameters():
            p.add_(0.01)
    save_generator(other, tmp_path / "other")
    (tmp_path / "other" / "model.safetensors").replace(tmp_path / "artifact" / "generator" / "model.safetensors")
    with pytest.raises(SourceError, match=r"bundles a generator whose weights .* are not the ones it was saved with"):
        Inverter.load(str(tmp_path / "artifact")).generator
    with pytest.raises(SourceError, match=r"are not the ones it was saved with"):  # nor saved under a new record
        Inverter.load(str(tmp_path / "artifact")).save_pretrained(tmp_path / "laundered")
    assert not (tmp_path / "laundered").exists()
    with pytest.warns(UserWarning, match="are not the ones it was saved with.* is taken as it is"):
        Inverter.load(str(tmp_path / "artifact"), generator=generator)


def test_a_program_given_by_another_path_is_checked_against_the_recorded_weights(tmp_path):
    """Only the recorded source string itself was compared: ./g.ts, an absolute path or another program of the same
    spec were taken in silence, and so for every published program inverter (audit 28b F2, F3)."""
    torch.manual_seed(0)
    torch.jit.script(Program16()).save(str(tmp_path / "g.ts"))
    fitted_on = load_generator(str(tmp_path / "g.ts"), options={"spec.nz": 4})
    Inverter.for_generator(fitted_on, width=4, hidden=8).save_pretrained(tmp_path / "inv")
    torch.manual_seed(1)
    (tmp_path / "other").mkdir()
    torch.jit.script(Program16()).save(str(tmp_path / "other" / "g.ts"))
    with pytest.warns(UserWarning, match=r"holds weights of sha256 .* was fitted on \S*g.ts's weights of sha256"):
        Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "other" / "g.ts"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the same weights by another path: nothing to say
        warnings.filterwarnings("ignore", message=".*(assumed|program|runs as code).*")
        Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "." / "g.ts"))


def test_a_copy_of_the_fitted_weights_elsewhere_is_read_with_the_fitted_options(tmp_path):
    """`-g` naming a byte-identical copy of the recorded file dropped the options it was fitted with: a generator
    fitted with --option output=sigmoid was refused, one with another activation read otherwise and used in silence
    (audit 30b)."""
    import shutil

    torch.save(CASE.build().state_dict(), tmp_path / "g.pth")
    options = {"output": "sigmoid", "activation": "leaky_relu"}
    fitted_on = load_generator(str(tmp_path / "g.pth"), options=options)
    torch.manual_seed(0)
    inverter = Inverter.for_generator(fitted_on, width=4, hidden=8, options=options)
    inverter.save_pretrained(tmp_path / "inv", include_generator=False)
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(tmp_path / "g.pth", tmp_path / "elsewhere" / "copy.pth")
    loaded = Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / "elsewhere" / "copy.pth"))
    options = loaded.generator.meta["options"]
    assert options["output"] == "sigmoid" and options["activation"] == "leaky_relu"
    z = torch.randn(4, fitted_on.spec.nz, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded.generator(z, None, None), fitted_on(z, None, None))


def test_a_generator_given_with_an_inverter_is_not_told_flags_only_fit_takes(tmp_path, inverter):
    """`invert -g` of weights whose architecture cannot be told, or of a program that does not run as the inverter's
    generator, named --arch, --latent-shape and --option: invert, features and loglik take none (audit 30b)."""
    inverter.save_pretrained(tmp_path / "inv", include_generator=False)
    torch.save(torch.nn.Linear(8, 256).state_dict(), tmp_path / "linear.pth")
    torch.jit.script(torch.nn.ConvTranspose2d(8, 3, 16)).save(str(tmp_path / "conv.ts"))  # 16 px, not 32
    for given in ("linear.pth", "conv.ts"):
        with pytest.raises(GaninvError) as refused:
            Inverter.load(str(tmp_path / "inv"), generator=str(tmp_path / given))
        said = str(refused.value)
        assert "give the generator it was fitted on" in said and "ganinv fit -g GENERATOR" in said, said
        assert not any(f"pass {flag}" in said or f"check {flag}" in said for flag in ("--arch", "--nz")), said


def test_a_run_still_being_written_is_said_as_such(tmp_path):
    """Its lock held, a fit's run folder was "holds no inverter artifact ... only runs that make an inverter do", or
    told to finish with --resume, which the lock refuses (audit 28b F6)."""
    from ganinv.runs import Run

    run = Run(tmp_path / "run").create({"fit": {}})  # holds the lock, as a fit writing it does
    with pytest.raises(SourceError, match=r"is a run that another process is still writing; its inverter is written"):
        Inverter.load(str(tmp_path / "run"))
    run.release()
    with pytest.raises(SourceError, match=r"holds no inverter artifact"):
        Inverter.load(str(tmp_path / "run"))


def test_a_generator_of_another_spec_is_told_the_fields_that_differ(tmp_path, inverter):
    """Two whole spec dicts, 600 characters, named no field; a program given the inverter's spec was told about an
    n_classes the user never gave (audit 28b F7)."""
    inverter.save_pretrained(tmp_path / "artifact")
    other = Generator(Program16(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)), source="other")
    with pytest.raises(SourceError, match=r"is not one this Inverter was trained for: its nz 4 \(trained for 8\), "):
        Inverter.load(str(tmp_path / "artifact"), generator=other)
    torch.jit.script(Program16()).save(str(tmp_path / "g.ts"))
    with pytest.raises(SourceError, match=r"g.ts does not run as the generator the inverter \S+ was fitted for \(nz 8"):
        Inverter.load(str(tmp_path / "artifact"), generator=str(tmp_path / "g.ts"))


def test_a_config_key_no_inverter_takes_is_said(tmp_path, inverter):
    """A hand edit's misspelt sigma_x fell back to the default in silence (audit 28b F8)."""
    inverter.save_pretrained(tmp_path / "artifact")
    config = tmp_path / "artifact" / "config.json"
    config.write_text(config.read_text().replace('"width"', '"sigma": 0.2, "width"'))
    with pytest.warns(UserWarning, match=r"holds 'sigma', which no inverter takes: not read \(misspelt\? .*sigma_x"):
        Inverter.load(str(tmp_path / "artifact"))


def test_saving_a_generator_folder_stays_loadable(tmp_path, generator):
    folder = save_generator(generator, tmp_path / "g")
    assert load_generator(str(folder)).spec == generator.spec


def test_loglik_scores_with_the_sigma_the_inverter_was_fitted_with(tmp_path, generator):
    import json

    from click.testing import CliRunner

    from ganinv.cli.main import cli

    Inverter.for_generator(generator, width=4, hidden=16, sigma_x=0.25).save_pretrained(tmp_path / "inv")
    args = ["loglik", "--inverter", str(tmp_path / "inv"), "--generated", "2", "--k", "1", "--json"]
    recorded = json.loads(CliRunner().invoke(cli, args).stdout)
    given = json.loads(CliRunner().invoke(cli, [*args, "--sigma-x", "0.5"]).stdout)
    assert (recorded["sigma_x"], recorded["sigma_x_from"]) == (0.25, "inverter")
    assert (given["sigma_x"], given["sigma_x_from"]) == (0.5, "given")


class Program16(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 256)

    def forward(self, z):
        return torch.tanh(self.linear(z)).reshape(-1, 1, 16, 16)


def test_a_fit_of_a_program_references_it_and_reloads_when_named(tmp_path):
    """A TorchScript generator cannot be bundled as weights: the artifact references it, and using the artifact
    needs the user to name the program again (it is code)."""
    from click.testing import CliRunner

    from ganinv.cli.main import cli

    torch.manual_seed(0)
    torch.jit.script(Program16()).save(str(tmp_path / "g.ts"))
    fit = [
        "fit",
        "-g",
        str(tmp_path / "g.ts"),
        "--nz",
        "4",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--width",
        "4",
        "--hidden",
        "8",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    ]
    assert CliRunner().invoke(cli, fit).exit_code == 0
    assert not (tmp_path / "run" / "inverter" / "generator").exists()
    with pytest.raises(UnsafeFileError, match="is named by the inverter artifact"):
        Inverter.load(str(tmp_path / "run")).generator
    assert Inverter.load(str(tmp_path / "run"), generator=str(tmp_path / "g.ts")).generator.spec.nz == 4


def test_a_builtin_names_its_shipped_inverter():
    inverter = Inverter.load("builtin:mnist")
    assert inverter.generator.source == "builtin:mnist"
    with pytest.raises(SourceError, match="no inverter is shipped for builtin:nope; built-ins with one: .*mnist"):
        Inverter.load("builtin:nope")


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="symbolic links and FIFOs are POSIX")
def test_links_in_an_artifact_neither_leak_nor_hang(tmp_path, inverter):
    """Audit 11b: re-saving a loaded artifact copied what `generator/notes.txt -> SECRET` pointed to (and pushing would
    have published it); a `generator` folder linked elsewhere loaded those weights in silence; weights linked to a
    FIFO blocked forever."""
    import os

    inverter.save_pretrained(tmp_path / "art")
    secret = tmp_path / "SECRET.txt"
    secret.write_text("password")
    (tmp_path / "art" / "generator" / "notes.txt").symlink_to(secret)
    Inverter.load(str(tmp_path / "art")).save_pretrained(tmp_path / "again")
    assert sorted(p.name for p in (tmp_path / "again" / "generator").iterdir()) == ["config.json", "model.safetensors"]

    os.rename(tmp_path / "art" / "generator", tmp_path / "elsewhere")
    (tmp_path / "art" / "generator").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SourceError, match="generator is a symbolic link"):
        Inverter.load(str(tmp_path / "art")).generator  # noqa: B018

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "art" / "generator").unlink()
    os.rename(tmp_path / "elsewhere", tmp_path / "art" / "generator")
    (tmp_path / "art" / "generator" / "model.safetensors").unlink()
    (tmp_path / "art" / "generator" / "model.safetensors").symlink_to(tmp_path / "fifo")
    with pytest.raises(SourceError, match="is a link out of the inverter artifact"):  # refused, not waited on
        Inverter.load(str(tmp_path / "art")).generator  # noqa: B018
    (tmp_path / "art" / "model.safetensors").unlink()  # the encoders' weights
    (tmp_path / "art" / "model.safetensors").symlink_to(tmp_path / "fifo")
    with pytest.raises(SourceError, match="is a link out of the artifact"):
        Inverter.load(str(tmp_path / "art"))
    os.mkfifo(tmp_path / "art" / "fifo")  # inside the artifact: no regular file either
    (tmp_path / "art" / "model.safetensors").unlink()
    (tmp_path / "art" / "model.safetensors").symlink_to("fifo")
    with pytest.raises(SourceError, match="is not a regular file"):
        Inverter.load(str(tmp_path / "art"))


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"nz": 10**5, "native_latent_shape": [10**5]}, r"nz 100000 where the net has \d+"),
        ({"image_shape": [1, 2000, 2000]}, r"image_shape \(1, 2000, 2000\) where the net has"),
        # beyond any generator's: refused as the spec is read (audit 32a F10)
        ({"nz": 10**10, "native_latent_shape": [10**10]}, r"spec field nz holds 10,000,000,000 values, more than any"),
        ({"image_shape": [1, 200000, 200000]}, r"spec field image_shape holds 40,000,000,000 values, more than any"),
    ],
)
def test_a_generator_config_whose_spec_is_not_its_nets_is_refused_before_anything_runs(
    tmp_path, generator, edit, message
):
    """Audit 14: `spec.nz = 1e10` in a generator's (or an artifact's bundled generator's) config.json tried to
    allocate 320 GB for the first probe: an internal error."""
    import json

    folder = save_generator(generator, tmp_path / "g")
    config = json.loads((folder / "config.json").read_text())
    config["spec"].update(edit)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SourceError, match=message):
        load_generator(str(folder))


def test_a_finished_run_of_the_other_kind_is_named_as_such(tmp_path):
    """Audit 17b F3: a finished `mvae fit` run given as --inverter was "a run that has not finished ... finish it with
    `ganinv mvae fit --resume`", which changed nothing (and the mirror case for --mvae)."""
    from ganinv.mvae.model import MVAE

    for kind in ("inverter", "mvae"):
        (tmp_path / kind / "checkpoints").mkdir(parents=True)
        (tmp_path / kind / kind).mkdir()
    with pytest.raises(SourceError, match=r"is a finished `ganinv mvae fit` run \(it holds mvae/\).*--mvae"):
        Inverter.load(str(tmp_path / "mvae"))
    with pytest.raises(SourceError, match=r"is a finished `ganinv fit` run \(it holds inverter/\).*--inverter"):
        MVAE.load(str(tmp_path / "inverter"))


@pytest.mark.parametrize("damage", ["nan", "inf", "int32"])
def test_damaged_weights_in_an_artifact_are_refused_by_name(tmp_path, inverter, damage):
    """Audit 21b: a NaN in an inverter's or MVAE's weights gave NaN feature files and MVAE figures with exit 0, or
    an error deep inside; weights stored as integers loaded cast to float, without a word."""
    from safetensors.torch import load_file, save_file

    from ganinv.mvae.model import MVAE

    for model, folder in ((inverter, tmp_path / "inverter"), (MVAE(image_shape=(1, 8, 8)), tmp_path / "mvae")):
        model.save_pretrained(folder)
        tensors = load_file(str(folder / "model.safetensors"))
        key = next(k for k, t in tensors.items() if t.is_floating_point() and t.dim() == 2)
        if damage == "int32":
            tensors[key] = tensors[key].round().to(torch.int32)
        else:
            tensors[key][0, 0] = float(damage)
        save_file(tensors, str(folder / "model.safetensors"))
        said = "is stored as I32" if damage == "int32" else "holds 1 NaN or infinite value"
        with pytest.raises(SourceError, match=f"{key} {said}.*the artifact is damaged"):
            type(model).from_pretrained(str(folder))


@pytest.mark.parametrize(
    "edit, said",
    [
        (lambda c: c.pop("architecture"), "its architecture is None, not a name"),
        (lambda c: c.update(options=[1, 2]), "its options are a JSON list, not an object"),
        (lambda c: c.update(spec="x"), r"its spec cannot be read \(a JSON str"),
        (lambda c: c["spec"].pop("image_shape"), "its spec cannot be read .*image_shape"),
        (lambda c: c.update(decisions=[1]), "its decisions are not a list of objects"),
    ],
)
def test_a_damaged_saved_generator_config_is_one_error_naming_it(tmp_path, generator, edit, said):
    """Audit 21b: a saved generator's config.json without its architecture, with options as a list or a spec of
    unknown fields was an internal error (KeyError, TypeError), also as the generator/ bundled in an artifact."""
    import json

    save_generator(generator, tmp_path / "g")
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    edit(config)
    (tmp_path / "g" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SourceError, match=f"config.json is damaged or edited: {said}"):
        load_generator(str(tmp_path / "g"))


def test_a_generator_path_spelt_another_way_is_the_recorded_one(tmp_path, monkeypatch):
    """`-g ./gens/g.ts` for a recorded `gens/g.ts` was another source, and the options the inverter was fitted with
    (a probe's layout among them) were decided again (review 29a)."""
    from ganinv.generator_reference import _same_file

    (tmp_path / "gens").mkdir()
    (tmp_path / "gens" / "g.ts").write_bytes(b"x")
    (tmp_path / "other.ts").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert _same_file("./gens/g.ts", "gens/g.ts") and _same_file(str(tmp_path / "gens" / "g.ts"), "gens/g.ts")
    assert not _same_file("other.ts", "gens/g.ts") and not _same_file("gens:make", "gens/g.ts")


def test_the_label_form_a_model_class_probe_chose_is_pinned_for_the_reload():
    """Fitted on a class whose labels a probe read as one-hot maps, an artifact's reload is given that form, not left
    to a probe of another ganinv version (the label forms were added after such artifacts could exist)."""
    from ganinv.generator_reference import with_fitted_readings

    options = {"model_class": "nets:G", "n_classes": 3}
    ref = {"options": options, "meta": {"model_class": "nets:G", "labels": "onehot_map"}}
    assert with_fitted_readings(ref) == {**options, "labels": "onehot_map"}
    given = {**options, "labels": "onehot"}  # the user's own word stays
    assert with_fitted_readings({**ref, "options": given}) == given


def test_only_the_clauses_naming_flags_an_inverters_command_lacks_are_cut():
    """The first cut ended a message at its first "; ", inside a parenthesis, and dropped a lag diagnosis and its
    --model-class remedy, which invert takes (review 31a)."""
    from ganinv.generator_reference import _diagnosis

    lag = (
        "fits none of the usual priors (the best, normal, misfits 10.7; the author's under 0.012), but N(0, I) times "
        "4.9 fit it. A scale so far above 1 is no prior's: more likely its running statistics lag its weights; load it "
        "with its own class (--model-class MODULE:CLASS). Only if its latents really were N(0, 4.9^2): --prior normal "
        "--option spec.native_prior_scale=4.9"
    )
    kept = _diagnosis(lag)
    assert "misfits 10.7; the author's under 0.012)" in kept and "--model-class MODULE:CLASS" in kept
    assert "--prior" not in kept and "--option" not in kept
    program = "n_classes=10 but the inputs z feed it to none: give --option inputs=... with it, or drop n_classes"
    assert _diagnosis(program) == "n_classes=10 but the inputs z feed it to none"
    assert _diagnosis("no flags here; nothing to cut") == "no flags here; nothing to cut"


def test_a_bundled_generator_without_its_weights_is_refused_naming_what_it_holds(tmp_path, inverter, generator):
    """A generator/ holding a pytorch_model.bin (or a program) in place of model.safetensors failed with "No such file
    or directory ... check the path, its permissions and the free space", or a bare FileNotFoundError in Python (an
    outside audit). Given with -g, the generator is taken, and the gap said."""
    inverter.save_pretrained(tmp_path / "artifact")
    bundled = tmp_path / "artifact" / "generator"
    (bundled / "model.safetensors").rename(bundled / "pytorch_model.bin")
    with pytest.raises(SourceError, match=r"bundles a generator/ without model.safetensors \(it holds pytorch_model"):
        Inverter.load(str(tmp_path / "artifact")).generator
    with pytest.warns(UserWarning, match="without model.safetensors.* is taken as it is") as said:
        Inverter.load(str(tmp_path / "artifact"), generator=generator)
    assert not any("give the generator it was fitted on" in str(w.message) for w in said)  # one was given


def test_an_artifacts_weights_linked_from_outside_it_are_refused(tmp_path, inverter):
    """A linked generator/ was refused, but a model.safetensors linking out of the artifact was followed (an outside
    audit); a link inside it is its own file."""
    inverter.save_pretrained(tmp_path / "elsewhere")
    inverter.save_pretrained(tmp_path / "artifact")
    (tmp_path / "artifact" / "model.safetensors").unlink()
    (tmp_path / "artifact" / "model.safetensors").symlink_to(tmp_path / "elsewhere" / "model.safetensors")
    with pytest.raises(SourceError, match=r"model.safetensors is a link out of the artifact"):
        Inverter.load(str(tmp_path / "artifact"))
    (tmp_path / "artifact" / "weights.safetensors").write_bytes(
        (tmp_path / "elsewhere" / "model.safetensors").read_bytes()
    )
    (tmp_path / "artifact" / "model.safetensors").unlink()
    (tmp_path / "artifact" / "model.safetensors").symlink_to("weights.safetensors")
    Inverter.load(str(tmp_path / "artifact"))  # inside: loads
