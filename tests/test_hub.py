"""`hub:owner/name[@rev]` through the real huggingface_hub client, offline, on a cache made in a temp folder."""

import io
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
import torch
import zoo
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import save
from torch import nn

from ganinv import safe_pickle
from ganinv.errors import GaninvError, SourceError, UnsafeFileError
from ganinv.hub import parse
from ganinv.repo_files import pick_weights
from ganinv.sources import load_generator, save_generator

SHA = zoo.HUB_SHA
CASE = zoo.case("pytorch-examples-dcgan")
FAST = {"strides": "1,2,2,2", "paddings": "0,1,1,1"}  # the geometry, where the layout is what a test is about


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


@pytest.fixture(scope="module")
def dcgan():
    module = CASE.build()
    latents = zoo.latents_for(CASE, 8)
    return module, latents, CASE.reference(module, latents)


class MixinDCGAN(nn.Module, PyTorchModelHubMixin):
    """Someone's DCGAN published with PyTorchModelHubMixin: config.json holds these init kwargs."""

    def __init__(self, nz: int = 8, ngf: int = 4, nc: int = 3, ngpu: int = 1):
        super().__init__()
        self.main = zoo.ExamplesDCGAN(nz, ngf, nc).main

    def forward(self, z):
        return self.main(z)


def test_ganinv_repo_from_cache_at_main_and_at_a_commit(hub_cache, dcgan, tmp_path):
    module, latents, expected = dcgan
    torch.save(module.state_dict(), tmp_path / "g.pth")
    folder = save_generator(load_generator(str(tmp_path / "g.pth")), tmp_path / "gen")
    zoo.cache_repo(hub_cache, "someone/dcgan", {n: folder / n for n in ("config.json", "model.safetensors")})
    for source in ("hub:someone/dcgan", f"hub:someone/dcgan@{SHA}"):
        g = load_generator(source)
        assert g.meta["revision"] == SHA and g.source == source
        torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-6)


def test_a_cached_snapshot_never_follows_a_link_out_of_its_cache_folder(hub_cache, dcgan, tmp_path):
    """Audit 14: a link in a cached snapshot pointing outside the cache (the client only links into the repo's own
    blobs/) was followed in silence: whoever can write the cache chose a local file as the generator."""
    module, latents, expected = dcgan
    torch.save(module.state_dict(), tmp_path / "g.pth")
    folder = save_generator(load_generator(str(tmp_path / "g.pth")), tmp_path / "gen")
    zoo.cache_repo(hub_cache, "someone/dcgan", {"config.json": folder / "config.json"})
    snapshot = hub_cache / "models--someone--dcgan" / "snapshots" / SHA
    (snapshot / "model.safetensors").symlink_to(folder / "model.safetensors")  # out of the cache
    with pytest.warns(UserWarning, match="links out of its cache folder, left out: model.safetensors"):
        with pytest.raises(SourceError):
            load_generator("hub:someone/dcgan")
    blob = hub_cache / "models--someone--dcgan" / "blobs" / "0123abcd"
    blob.parent.mkdir()
    shutil.copy(folder / "model.safetensors", blob)
    (snapshot / "model.safetensors").unlink()
    (snapshot / "model.safetensors").symlink_to(blob)  # as the client links: into the repo's blobs/
    torch.testing.assert_close(load_generator("hub:someone/dcgan").decode(latents), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("weights", ["model.safetensors", "pytorch_model.bin"])
def test_pytorch_model_hub_mixin_repo_with_arch(hub_cache, dcgan, tmp_path, weights):
    _, latents, _ = dcgan
    torch.manual_seed(0)
    model = MixinDCGAN()
    zoo.calibrate(model, CASE)
    model.save_pretrained(tmp_path / "mixin")  # the real mixin writes config.json + model.safetensors
    files = {"config.json": tmp_path / "mixin" / "config.json"}
    if weights == "model.safetensors":
        files[weights] = tmp_path / "mixin" / weights
    else:  # older mixin repos: a pickled state dict, read with weights_only=True
        torch.save(model.state_dict(), tmp_path / weights)
        files[weights] = tmp_path / weights
    zoo.cache_repo(hub_cache, "someone/mixin-dcgan", files)
    g = load_generator("hub:someone/mixin-dcgan", arch="dcgan")
    assert g.meta["options"]["width"] == 4 and g.meta["ignored_config"] == ["ngpu"]  # ngf -> width; ngpu unused
    with torch.no_grad():
        expected = model(latents.z[:, :, None, None])
    torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-6)
    assert torch.equal(load_generator("hub:someone/mixin-dcgan").decode(latents), g.decode(latents))  # inferred


def test_sidecar_spec_in_repo(hub_cache, dcgan, tmp_path):
    module = dcgan[0]
    torch.save(module.state_dict(), tmp_path / "g.pth")
    folder = save_generator(load_generator(str(tmp_path / "g.pth")), tmp_path / "gen")
    for repo, spec in (
        ("someone/uniform", '{"native_prior": "uniform"}'),
        ("someone/truncated", '{"native_prior_scale": 0.5}'),
    ):
        (tmp_path / "spec.json").write_text(spec)
        zoo.cache_repo(
            hub_cache,
            repo,
            {
                "config.json": folder / "config.json",
                "model.safetensors": folder / "model.safetensors",
                "spec.json": tmp_path / "spec.json",
            },
        )
    # audit 16: a repo's spec.json contradicting the BatchNorm statistics (this net's z is N(0, I)) was applied
    with pytest.raises(SourceError, match=r"spec.json says native_prior=uniform, .* read the prior normal"):
        load_generator("hub:someone/uniform")
    with pytest.warns(UserWarning, match=r"spec.json sets native_prior_scale=0.5 for"):  # applied, and said
        assert load_generator("hub:someone/truncated").spec.native_prior_scale == 0.5


def test_not_cached_while_offline_is_one_clear_line(hub_cache, tmp_path):
    with pytest.raises(SourceError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE is set") as info:
        load_generator("hub:nobody/nothing")
    assert "\n" not in str(info.value)
    zoo.cache_repo(hub_cache, "someone/config-only", {"config.json": _write(tmp_path / "c.json", "{}")})
    with pytest.raises(
        SourceError,
        match=r"hub:someone/config-only's cached snapshot holds only config.json: no weights file of it was fetched",
    ):
        load_generator("hub:someone/config-only")
    with pytest.raises(SourceError, match="not in the local Hugging Face cache"):
        load_generator(f"hub:someone/config-only@{'f' * 40}")
    # a cached file whose name does not say weights (d2l's net_G.params) is named with :FILE, as online (audit 53b)
    params = _write(tmp_path / "net_G.params", "")
    zoo.cache_repo(hub_cache, "someone/d2l", {"README.md": _write(tmp_path / "r.md", "#"), "net_G.params": params})
    with pytest.raises(
        SourceError, match=r"; if net_G\.params is the generator's file, name it: hub:someone/d2l:FILE$"
    ):
        load_generator("hub:someone/d2l")


def test_damaged_indexes_refs_and_configs_in_the_cache_are_one_clear_line(hub_cache, dcgan, tmp_path):
    """An outside audit (7) found internal errors for a sharded index whose weight_map is empty or maps to numbers,
    for JSON nested 200,000 levels deep, and a silent load of every cached commit at once through an empty ref."""
    from safetensors.torch import save_file

    module = dcgan[0]
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "shard.safetensors"))
    for repo, weight_map in (("empty", {}), ("numbers", {k: 1 for k in module.state_dict()})):
        index = _write(tmp_path / f"{repo}.json", json.dumps({"weight_map": weight_map}))
        files = {
            "model.safetensors.index.json": index,
            "model-00001-of-00001.safetensors": tmp_path / "shard.safetensors",
        }
        zoo.cache_repo(hub_cache, f"someone/{repo}", files)
        with pytest.raises(SourceError, match="is not a sharded-weights index"):
            load_generator(f"hub:someone/{repo}")
    deep = _write(tmp_path / "deep.json", "[" * 200_000 + "]" * 200_000)
    zoo.cache_repo(
        hub_cache, "someone/deep", {"config.json": deep, "model.safetensors": tmp_path / "shard.safetensors"}
    )
    with pytest.raises(SourceError, match=r"config.json is not valid JSON \(nested too deeply"):
        load_generator("hub:someone/deep")
    huge = _write(tmp_path / "huge.json", '{"nz": 100, "pad": "' + "x" * (17 * 2**20) + '"}')  # parsed, GBs (audit 8)
    zoo.cache_repo(
        hub_cache, "someone/huge", {"config.json": huge, "model.safetensors": tmp_path / "shard.safetensors"}
    )
    with pytest.raises(SourceError, match=r"config.json is not valid JSON \(17 MiB, more than any config"):
        load_generator("hub:someone/huge")
    zoo.cache_repo(hub_cache, "someone/ok", {"model.safetensors": tmp_path / "shard.safetensors"})
    ref = next(hub_cache.glob("models--someone--ok/refs/main"))
    ref.write_text("")  # as a crash mid-write leaves it
    with pytest.raises(SourceError, match="ref 'main' of hub:someone/ok is damaged"):
        load_generator("hub:someone/ok")


def test_hub_ids_and_weight_choice():
    hub_id = parse("hub:owner/name@v1:sub/model.pt#GAN.GE")
    assert (hub_id.repo, hub_id.revision, hub_id.filename, hub_id.key) == ("owner/name", "v1", "sub/model.pt", "GAN.GE")
    assert parse("hub:owner/name").revision is None and parse("hub:owner/name").repo_text == "hub:owner/name"
    with pytest.raises(SourceError, match="not a hub id"):
        parse("hub:owner/name@")
    for bad in ("hub:../../etc", "hub:owner/../../etc", "hub:owner/name/extra", "hub:a--b/c", "hub:owner/na me"):
        with pytest.raises(SourceError, match=r"is not a valid repo id .*use owner/name"):
            parse(bad)
    for bad in ("hub:owner/name@../../refs", "hub:owner/name@/etc", "hub:owner/name@a b"):
        with pytest.raises(SourceError, match="is not a valid revision"):
            parse(bad)
    assert parse("hub:owner/name@refs/pr/1").revision == "refs/pr/1" and parse("hub:gpt2").repo == "gpt2"
    files = ["README.md", "G.pth", "G_ema.pth", "D.pth", "optimizer.pt", "model-00001-of-00002.safetensors"]
    with pytest.warns(UserWarning, match="using G_ema.pth"):
        assert pick_weights(files, "hub:x")[0] == "G_ema.pth"
    assert pick_weights(["model.safetensors", "pytorch_model.bin"], "hub:x")[0] == "model.safetensors"  # no warning


@pytest.mark.parametrize(
    "files, chosen",
    [
        (["G.pth", "Gs.pth"], "Gs.pth"),  # StyleGAN's moving average, as the weights' reader names it
        (["generator.pt", "swa_generator.pt"], "swa_generator.pt"),  # was a tie
        (["generator.pt", "schema.pt"], "generator.pt"),  # "schema" ends in "ema" but is no average
        (["netG.pth", "emaG.pth"], "emaG.pth"),
    ],
)
def test_the_hub_chooses_moving_averages_by_the_names_the_weights_reader_knows(files, chosen):
    with pytest.warns(UserWarning, match=f"using {chosen}"):
        assert pick_weights(files, "hub:x")[0] == chosen


def test_a_folders_word_does_not_set_aside_a_file_named_for_the_generator():
    """An outside audit (41b): `vae_gan/generator.pth` was dropped for its folder's "vae", and the repo called one of
    "no weights file" while listing it; an archive of samples beside the weights blocked the choice."""
    assert pick_weights(["vae_gan/generator.pth", "vae_gan/discriminator.pth"], "hub:x")[0] == "vae_gan/generator.pth"
    assert pick_weights(["wgan.pth", "samples.tar", "vae/model.safetensors"], "hub:x")[0] == "wgan.pth"
    # review 42a: a generator's own name, or a folder of samples, is not set aside for a word of pictures
    for name in ("generator_images.pth", "netG_samples.pth", "G_dataset_mnist.pth", "samples_64/model.safetensors"):
        assert pick_weights([name], "hub:x")[0] == name
    # and an optimizer's or a critic's folder sets aside what it holds, however it is named
    files = ["models/netG_epoch_20.pth", "optimizers/netG_epoch_30.pth", "critic/generator.pth"]
    assert pick_weights(files, "hub:x")[0] == "models/netG_epoch_20.pth"


def test_files_set_aside_by_their_names_are_named_with_why_when_nothing_is_left():
    with pytest.raises(SourceError, match=r"set aside G_and_D.pth \(its name says 'd'\).* name it: hub:x:FILE"):
        pick_weights(["G_and_D.pth", "README.md"], "hub:x")


def test_a_diffusers_pipeline_is_refused_by_name():
    files = ["model_index.json", "unet/diffusion_pytorch_model.safetensors", "safety_checker/model.safetensors"]
    with pytest.raises(SourceError, match="diffusers pipeline .*not a GAN generator"):
        pick_weights(files, "hub:x")


class Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("payload", ["marker", "system", "eval"])
def test_restricted_unpickler_refuses_calls_and_runs_nothing(tmp_path, legacy, payload):
    marker = tmp_path / "marker"
    evil = {
        "marker": zoo.Marker(str(marker)),
        "system": Evil(marker),
        "eval": _Reduce(eval, (f"open({str(marker)!r}, 'w')",)),
    }[payload]
    torch.save(
        {"netG": {"w": torch.zeros(2)}, "x": evil}, tmp_path / "e.pth", _use_new_zipfile_serialization=not legacy
    )
    with pytest.raises(safe_pickle.RefusedPickle):
        safe_pickle.load(tmp_path / "e.pth")
    with pytest.raises(UnsafeFileError, match="calls .* while unpickling, which can run code; refused") as info:
        load_generator(str(tmp_path / "e.pth"))
    assert "\n" not in str(info.value) and not marker.exists()


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.mark.parametrize("legacy", [False, True])
def test_plain_data_objects_become_records(tmp_path, legacy):
    import argparse

    args = argparse.Namespace(nz=8, lr=0.1, name="run")
    torch.save(
        {"args": args, "g_ema": {"w": torch.ones(2)}, "step": 3},
        tmp_path / "c.pt",
        _use_new_zipfile_serialization=not legacy,
    )
    loaded = safe_pickle.load(tmp_path / "c.pt")
    assert safe_pickle.origin(loaded["args"]) == "argparse.Namespace"
    assert safe_pickle.fields(loaded["args"]) == {"nz": 8, "lr": 0.1, "name": "run"}
    assert torch.equal(loaded["g_ema"]["w"], torch.ones(2)) and loaded["step"] == 3


def test_a_whole_pickled_module_gives_its_weights_not_its_code(tmp_path, dcgan, caplog):
    """torch.save(model): the weights are read without importing the class and the architecture from them; the
    class itself runs only with trust_remote_code."""
    module, latents, expected = dcgan
    torch.save(module, tmp_path / "netG.pth")
    with caplog.at_level("WARNING", logger="ganinv"):
        g = load_generator(str(tmp_path / "netG.pth"), options={"strides": "1,2,2,2", "paddings": "0,1,1,1"})
    assert "whole pickled module (zoo.ExamplesDCGAN)" in caplog.text and "--trust-remote-code" in caplog.text
    torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-5)
    assert g.meta["architecture"] == "dcgan"  # read from the weights, not the pickled class
    trusted = load_generator(
        str(tmp_path / "netG.pth"), trust_remote_code=True, options={"spec.nz": 8, "spec.native_latent_shape": "8,1,1"}
    )
    assert trusted.meta["architecture"] == "opaque"  # the class itself, as a program


def test_batch_statistics_mode_survives_saving(tmp_path, dcgan):
    module, latents, _ = dcgan
    torch.save(module.state_dict(), tmp_path / "g.pth")
    with pytest.warns(UserWarning, match="bn=train each image depends on the other latents of its batch"):
        # said: the same latent gives another image in another batch (audit 26b)
        g = load_generator(
            str(tmp_path / "g.pth"), options={"bn": "train", "strides": "1,2,2,2", "paddings": "0,1,1,1"}
        )
    assert g.meta["batchnorm"] == "train" and all(m.training for m in g.net.modules() if isinstance(m, nn.BatchNorm2d))
    before = {k: v.clone() for k, v in g.net.state_dict().items()}
    with torch.no_grad():
        x = g.eval().decode(latents)
    assert all(torch.equal(before[k], v) for k, v in g.net.state_dict().items())  # running stats untouched
    reloaded = load_generator(str(save_generator(g, tmp_path / "saved")))
    assert reloaded.meta["batchnorm"] == "train"
    with torch.no_grad():
        torch.testing.assert_close(reloaded.decode(latents), x, rtol=0, atol=1e-6)
    with pytest.raises(SourceError, match="bn=train .* or bn=eval"):
        load_generator(str(tmp_path / "g.pth"), options={"bn": "batch"})


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _pickled(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _safetensors(state: dict) -> bytes:
    return save({k: v.contiguous() for k, v in state.items()})


def _same_images(g, module, latents):
    torch.testing.assert_close(g.decode(latents), CASE.reference(module, latents), rtol=0, atol=1e-6)


def test_a_safetensors_stands_for_a_pickle_only_of_its_stem_and_only_where_they_agree(hub, tmp_path):
    """Audit 24a F2: `generator.safetensors` (a stale conversion) was taken over `generator.pth` as "the same weights
    as the pickle beside it", never compared, and `netG_epoch_5.safetensors` over `netG_epoch_24.pth` (the format
    outranked the epoch)."""
    old, new = CASE.build(seed=1), CASE.build(seed=2)
    latents = zoo.latents_for(CASE, 4)
    hub.repos.commit(
        "me/twin",
        {"generator.pth": _pickled(new.state_dict()), "generator.safetensors": _safetensors(old.state_dict())},
    )
    with pytest.raises(SourceError, match=r"generator\.safetensors and generator\.pth, which hold different weights"):
        load_generator("hub:me/twin", options=FAST)
    hub.repos.commit(
        "me/same",
        {"generator.pth": _pickled(new.state_dict()), "generator.safetensors": _safetensors(new.state_dict())},
    )
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator("hub:me/same", options=FAST)
    assert g.meta["hub"]["file"] == "generator.safetensors" and not [w for w in said if "generator.pth" in str(w)]
    _same_images(g, new, latents)
    hub.repos.commit(
        "me/epochs",
        {"netG_epoch_24.pth": _pickled(new.state_dict()), "netG_epoch_5.safetensors": _safetensors(old.state_dict())},
    )
    with pytest.warns(UserWarning, match="using netG_epoch_24.pth, the latest by the epoch"):
        _same_images(load_generator("hub:me/epochs", options=FAST), new, latents)
    with pytest.raises(SourceError, match="nothing tells which is the generator"):  # other stems: no format wins
        pick_weights(["G.safetensors", "netG.pth"], "hub:x")


def test_numbers_that_are_no_epoch_or_step_are_not_read_as_one():
    """Audit 24a F8: `G_500k` was "the latest" over `G_1.5M`, `generator_128` over `generator_64` (two resolutions:
    two models), and `checkpoint-1000/generator.pth` beside `checkpoint-500/...` was refused: the folder went unread."""
    for files, chosen in (
        (["G_500k.pth", "G_1.5M.pth"], "G_1.5M.pth"),
        (["checkpoint-500/generator.pth", "checkpoint-1000/generator.pth"], "checkpoint-1000/generator.pth"),
        (["network-snapshot-000256.pkl", "network-snapshot-000512.pkl"], "network-snapshot-000512.pkl"),  # kimg
        (["run1/generator.pth", "run2/generator.pth"], None),  # a folder's lone number is a run, not a step
        (["generator_64.pth", "generator_128.pth"], None),
        # numbers glued to letters are still numbers of one run (a review, 52a)
        (["netG10.pth", "netG20.pth"], "netG20.pth"),
        (["G_e10.pth", "G_e20.pth"], "G_e20.pth"),
        (["gen_5ep.pth", "gen_10ep.pth"], "gen_10ep.pth"),
        (["generator10.pth", "generator20.pth", "critic20.pth"], "generator20.pth"),
        (
            ["g_best.pth.tar", "g_last.pth.tar", "g_epoch_5.pth.tar", "g_epoch_10.pth.tar"],
            "g_last.pth.tar",
        ),  # Lornatang
        # gordicaleksa/pytorch-GANs names each model kind's binaries by a count: three models, not epochs (audit 51a)
        (["binaries/VANILLA_000000.pth", "binaries/VANILLA_000001.pth", "binaries/CGAN_000000.pth"], None),
        (
            [
                "lightning_logs/version_0/checkpoints/epoch=4-step=4685.ckpt",
                "lightning_logs/version_0/checkpoints/epoch=9-step=9370.ckpt",
            ],
            "lightning_logs/version_0/checkpoints/epoch=9-step=9370.ckpt",
        ),
    ):
        if chosen is None:
            with pytest.raises(SourceError, match=r"nothing tells which is the generator.*hub:me/gan:FILE"):
                pick_weights(files, "hub:me/gan")
            continue
        with pytest.warns(UserWarning, match=f"using {chosen}, the latest by the epoch or step"):
            assert pick_weights(files, "hub:me/gan")[0] == chosen


@pytest.mark.parametrize(
    "files",
    [["G_30.pth", "G_31.pth", "G_32.pth"], ["netG_62.pth", "netG_63.pth", "netG_64.pth"], ["G_1000.pth", "G_1024.pth"]],
)
def test_epochs_that_happen_to_be_image_sides_are_read_as_epochs(files):
    """Audit 25a F5: a lone image side told nothing even among epochs: `G_30/G_31/G_32` picked G_31, `netG_62..64`
    picked 63, `G_1000/G_1024` picked 1000, each "the latest". Sides tell nothing only where every lone number is
    one (`generator_64` beside `generator_128`, two models, stays refused: the test above)."""
    with pytest.warns(UserWarning, match=f"using {files[-1]}, the latest by the epoch or step in its name"):
        assert pick_weights(files, "hub:me/gan")[0] == files[-1]


def _blob(cache: Path, repo: str, name: str) -> Path:
    return next(cache.glob(f"models--{repo.replace('/', '--')}/snapshots/*/{name}")).resolve()


def test_a_damaged_cached_blob_is_downloaded_again_online_and_said_offline(hub, tmp_path, monkeypatch):
    """Audit 24a F6: a truncated blob in the cache failed every retry, online too ("download it again"): the client
    returns a cached file as it is."""
    module = CASE.build()
    latents = zoo.latents_for(CASE, 4)
    hub.repos.commit("me/g", {"netG.pth": _pickled(module.state_dict())})
    load_generator("hub:me/g", options=FAST)
    blob = _blob(tmp_path / "hf-cache", "me/g", "netG.pth")
    whole = blob.read_bytes()
    blob.write_bytes(whole[: len(whole) // 2])
    with pytest.warns(UserWarning, match=r"^the cached copy of hub:me/g:netG\.pth was damaged .*downloaded again"):
        reloaded = load_generator("hub:me/g", options=FAST)  # read once more, from the new copy
    assert blob.read_bytes() == whole
    _same_images(reloaded, module, latents)
    blob.write_bytes(whole[: len(whole) // 2])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        SourceError, match=r"cached copy of hub:me/g:netG\.pth is damaged .*unset HF_HUB_OFFLINE"
    ) as info:
        load_generator("hub:me/g", options=FAST)
    assert "\n" not in str(info.value) and "snapshots" not in str(info.value)


def test_a_file_damaged_on_the_hub_itself_is_not_told_to_be_downloaded_again(hub, tmp_path):
    """An outside audit: where the Hub's own copy is truncated, the cached copy matches the Hub's record, and the
    error's "download it again" could not help."""
    whole = _pickled(CASE.build().state_dict())
    hub.repos.commit("me/g", {"netG.pth": whole[: len(whole) // 2]})
    with pytest.raises(SourceError) as info:
        load_generator("hub:me/g", options=FAST)
    message = str(info.value)
    assert "the Hub's own copy is damaged; ask the repo's author to upload it again" in message, message
    assert "hub:me/g:FILE" in message and "snapshots" not in message


def test_offline_a_cached_link_whose_blob_was_removed_is_said_so(hub, tmp_path, monkeypatch):
    """Audit 24a F7: offline, a snapshot link whose blob a cache cleanup removed was "no weights file ... it holds
    nothing" (and `:netG.pth`: "has no file 'netG.pth'")."""
    hub.repos.commit("me/g", {"netG.pth": _pickled(CASE.build().state_dict())})
    load_generator("hub:me/g", options=FAST)
    _blob(tmp_path / "hf-cache", "me/g", "netG.pth").unlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for source in ("hub:me/g", "hub:me/g:netG.pth"):
        with pytest.raises(
            SourceError, match=r"^the cached copy of hub:me/g:netG\.pth is missing its data .*unset HF_HUB_OFFLINE"
        ):
            load_generator(source, options=FAST)


def test_a_hub_inverter_naming_a_callable_is_refused_by_its_hub_id(hub, tmp_path):
    """Audit 24a F5: the refusal named the cache's snapshot folder, not the id the user typed (a bare `owner/name`
    too, which was read as a local folder)."""
    from ganinv.inverter import Inverter

    torch.save(CASE.build().state_dict(), tmp_path / "netG.pth")
    g = load_generator(str(tmp_path / "netG.pth"), options=FAST)
    Inverter.for_generator(g, width=4, hidden=8).save_pretrained(tmp_path / "inv")
    files = {str(p.relative_to(tmp_path / "inv")): p for p in (tmp_path / "inv").rglob("*") if p.is_file()}
    hub.repos.commit("me/bundled", files)
    assert Inverter.load("me/bundled").generator.spec == g.spec  # its snapshot's links were "links out of it"
    files = {name: path for name, path in files.items() if not name.startswith("generator/")}
    config = json.loads(files["config.json"].read_text())
    config["generator_ref"] = {"source": "mypkg:make_generator", "arch": None, "options": {}, "meta": {}}
    files["config.json"] = _write(tmp_path / "config.json", json.dumps(config))
    hub.repos.commit("me/inv", files)
    for source in ("hub:me/inv", "me/inv"):
        with pytest.raises(
            GaninvError, match="named by the inverter artifact hub:me/inv, and ganinv never runs"
        ) as info:
            Inverter.load(source).generator
        assert "snapshots" not in str(info.value)


def test_a_failed_download_offers_the_cache_only_where_a_snapshot_holds_files(tmp_path, monkeypatch):
    """An outside audit (41b): the client makes the snapshot's folder before a download that then fails, and the
    advice to use "the cached snapshot" with HF_HUB_OFFLINE=1 led to "not in the local cache"."""
    from ganinv import hub

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    hub_id = hub.parse("hub:me/dies")
    snapshot = hub.repo_folder("me/dies") / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    cut = ConnectionError("peer closed connection without sending complete message body")
    assert hub.download_failure(cut, hub_id).endswith("(the cache holds no snapshot of it)")
    (snapshot / "config.json").write_text("{}")
    assert hub.download_failure(cut, hub_id).endswith("set HF_HUB_OFFLINE=1 to use the cached snapshot")


def test_offline_a_snapshot_that_holds_only_a_config_says_the_weights_were_not_fetched(hub, tmp_path, monkeypatch):
    """A repo of whose files only config.json was fetched (hf_hub_download of it alone) was "no weights file ...; if
    one of them is the generator's torch.save file, name it", advice to name config.json (an outside audit, 49a)."""
    from huggingface_hub import hf_hub_download

    hub.repos.commit("me/g", {"netG.pth": _pickled(CASE.build().state_dict()), "config.json": "{}"})
    hf_hub_download("me/g", "config.json", endpoint=hub.url, cache_dir=tmp_path / "hf-cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        SourceError, match=r"cached snapshot holds only config\.json: no weights file of it was fetched"
    ):
        load_generator("hub:me/g", options=FAST)


def test_a_cache_that_cannot_be_written_is_named_not_the_connection(hub, tmp_path, monkeypatch):
    """HF_HUB_CACHE on a file (or a read-only folder) was "check the connection and retry", the Hub being reachable
    (an outside audit, 49a)."""
    hub.repos.commit("me/g", {"netG.pth": _pickled(CASE.build().state_dict())})
    (tmp_path / "cache-file").write_text("")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache-file"))
    with pytest.raises(SourceError, match="the Hugging Face cache cannot be written .*set HF_HUB_CACHE") as info:
        load_generator("hub:me/g", options=FAST)
    assert "connection" not in str(info.value)


def test_an_endpoint_without_a_scheme_is_named(monkeypatch):
    """HF_ENDPOINT=127.0.0.1:PORT was "the Hub could not be reached ...; download it once online" (audit 49a)."""
    monkeypatch.setenv("HF_ENDPOINT", "127.0.0.1:9")
    with pytest.raises(SourceError, match=r"HF_ENDPOINT=127\.0\.0\.1:9 is not a URL: write it with http://"):
        load_generator("hub:someone/anything")


def test_a_short_commit_hash_loads_online_and_offline_and_the_full_hash_is_recorded(hub, tmp_path, monkeypatch):
    """Audit 49a F22: the Hub takes a commit's unique prefix (the test server had not, so `@36f36af` worked offline
    only). Both ways give the same commit, recorded in full, and no ref named by the prefix is written to the cache."""
    module = CASE.build(seed=3)
    sha = hub.repos.commit("me/short", {"netG.pth": _pickled(module.state_dict())})
    hub.repos.commit("me/short", {"netG.pth": _pickled(CASE.build(seed=4).state_dict())})  # main moves on
    latents = zoo.latents_for(CASE, 4)
    online = load_generator(f"hub:me/short@{sha[:7]}", options=FAST)
    assert online.meta["hub"]["commit"] == online.meta["revision"] == sha
    _same_images(online, module, latents)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = load_generator(f"hub:me/short@{sha[:7]}", options=FAST)
    assert offline.meta["hub"]["commit"] == sha
    _same_images(offline, module, latents)
    assert not list(Path(os.environ["HF_HUB_CACHE"]).glob(f"models--me--short/refs/{sha[:7]}"))


def test_offline_the_file_chosen_online_among_several_is_said_again(hub, monkeypatch):
    """Offline, the file chosen online at a commit is taken again (the cache holds only what was fetched); it had
    been taken without a word where online its choice among several was announced (an outside audit, 49b)."""
    import ganinv.hub as ganinv_hub

    old, new = CASE.build(seed=1), CASE.build(seed=2)
    hub.repos.commit(
        "me/epochs", {"netG_epoch_1.pth": _pickled(old.state_dict()), "netG_epoch_2.pth": _pickled(new.state_dict())}
    )
    with pytest.warns(UserWarning, match=r"using netG_epoch_2\.pth, the latest by the epoch"):
        load_generator("hub:me/epochs", options=FAST)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ganinv_hub._LISTINGS.clear()
    with pytest.warns(
        UserWarning,
        match=r"hub:me/epochs \(offline\): using netG_epoch_2\.pth, the file chosen online "
        r"at this commit among 2 weights files \(netG_epoch_1\.pth, netG_epoch_2\.pth\)",
    ):
        _same_images(load_generator("hub:me/epochs", options=FAST), new, zoo.latents_for(CASE, 3))


def test_a_hub_that_does_not_answer_in_time_is_said_to_be_slow(monkeypatch):
    """Audit 55c: a Hub answering after 12 s was "could not be reached ...; download it once online", and a slow
    download "check the connection": the timeouts that fix it were never named."""
    import socket

    from huggingface_hub import constants

    with socket.socket() as silent:  # takes the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 0.5)
        with pytest.raises(SourceError, match=r"did not answer within 0\.5 s .*HF_HUB_DOWNLOAD_TIMEOUT") as info:
            load_generator("hub:someone/slow")
    assert "connection" not in str(info.value) and "once online" not in str(info.value)


def test_offline_a_snapshot_without_its_branchs_ref_names_the_cached_commit(hub_cache, tmp_path):
    """Audit 55c: a snapshot fetched by commit leaves no refs/main; "not in the cache" hid the commit that loads, and
    an emptied snapshot "held only nothing"."""
    zoo.cache_repo(hub_cache, "someone/pinned", {"config.json": _write(tmp_path / "c.json", "{}")})
    root = hub_cache / "models--someone--pinned"
    (root / "refs" / "main").unlink()
    with pytest.raises(SourceError, match=rf"\(the cache holds commit hub:someone/pinned@{SHA[:12]} of it, but no"):
        load_generator("hub:someone/pinned")
    (root / "refs" / "main").write_text(SHA)
    (root / "snapshots" / SHA / "config.json").unlink()
    with pytest.raises(SourceError, match=r"hub:someone/pinned's cached snapshot is empty: no weights file"):
        load_generator("hub:someone/pinned")
