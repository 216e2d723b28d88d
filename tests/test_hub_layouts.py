"""Hub repos laid out as GAN projects publish them, served by a local Hub-compatible endpoint (tests/hub_server.py)
and read by the real `huggingface_hub` client: each loads with `hub:` alone and makes the original module's images."""

import copy
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Optional

import pytest
import torch
import zoo
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import save_file
from torch import nn

from ganinv import hub as ganinv_hub
from ganinv import repo_files
from ganinv.architectures import AssumptionWarning
from ganinv.errors import ArchitectureError, GaninvError, SourceError, UnsafeFileError
from ganinv.sources import file_sha256, load_generator
from ganinv.spec import Latents

HUGGAN = zoo.Case("huggan-dcgan", zoo.HugGANDCGAN, "dcgan", image_shape=(3, 64, 64))
GAN_ZOO = zoo.Case("gan-zoo-dcgan", zoo.GANZooGNet, "dcgan", image_shape=(3, 32, 32))
DCGAN = zoo.case("pytorch-examples-dcgan")
# The geometry, given where the layout (not the adapter's geometry search, ~1 s a load) is what a test is about.
FAST = {"strides": "1,2,2,2", "paddings": "0,1,1,1"}


def state_bytes(obj, path, legacy=False) -> bytes:
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path.read_bytes()


def same_images(g, module, case, latents, atol=1e-6):
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=atol)


def test_huggan_sprint_dcgan_pytorch_model_bin_without_config(hub, tmp_path):
    module = HUGGAN.build()
    weights = state_bytes(module.state_dict(), tmp_path / "w.bin", legacy=True)  # huggingface_hub 0.4 era
    sha = hub.repos.commit("huggan/dcgan-mnist", {"pytorch_model.bin": weights, "README.md": "# DCGAN\n"})
    g = load_generator("hub:huggan/dcgan-mnist")
    same_images(g, module, HUGGAN, zoo.latents_for(HUGGAN, 6))
    assert g.meta["revision"] == sha and g.meta["hub"]["file"] == "pytorch_model.bin"
    assert not hub.requested("config.json") and not hub.requested("spec.json")  # never asked for blindly
    assert [r for r in hub.log if r[1].startswith("/api/")] == [
        ("GET", "/api/models/huggan/dcgan-mnist")
    ]  # one listing call


def test_huggan_sprint_dcgan_mixin_kwargs_are_evidence(hub, tmp_path):
    module = HUGGAN.build()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "model.safetensors"))
    config = {"num_channels": 3, "latent_dim": 8, "hidden_size": 4}  # modeling_dcgan.Generator's init kwargs
    hub.repos.commit(
        "huggan/dcgan-mixin", {"config.json": json.dumps(config), "model.safetensors": tmp_path / "model.safetensors"}
    )
    g = load_generator("hub:huggan/dcgan-mixin")
    assert g.meta["architecture"] == "dcgan" and g.meta["config_options"] == {"channels": 3, "nz": 8, "width": 4}
    same_images(g, module, HUGGAN, zoo.latents_for(HUGGAN, 4))
    hub.repos.commit(
        "huggan/dcgan-mixin-bad",
        {"config.json": json.dumps({**config, "hidden_size": 64}), "model.safetensors": tmp_path / "model.safetensors"},
    )
    with pytest.raises(
        ArchitectureError,
        match=r"hub:huggan/dcgan-mixin-bad:config.json disagrees.*"
        r"width=64 where the weights have 4",
    ):
        load_generator("hub:huggan/dcgan-mixin-bad")


def lightweight_images(g, z):
    """ganinv's images for standard-normal z, in the generator's native range ([0, 1] for Lightweight GAN)."""
    lo, hi = g.spec.native_output_range
    with torch.no_grad():
        return (g.decode(Latents(z=z)) + 1) / 2 * (hi - lo) + lo


def test_huggan_lightweight_gan_repo_trainer_args_are_evidence(hub, tmp_path):
    gan = zoo.HugGANLightweightGAN(seed=0)
    torch.save({"GAN": gan.state_dict()}, tmp_path / "model.pt")  # the sprint's Trainer.save
    config = gan.huggan_config()
    hub.repos.commit(
        "huggan/lightweight",
        {"config.json": json.dumps(config), "model.pt": tmp_path / "model.pt", "README.md": "# lightweight-gan\n"},
    )
    with pytest.warns(UserWarning, match="using GE, the moving average"):
        g = load_generator("hub:huggan/lightweight")
    assert g.meta["architecture"] == "lightweight_gan" and g.meta["hub"]["file"] == "model.pt"
    read = g.meta["config_options"]
    assert (read["latent_dim"], read["image_size"], read["fmap_max"], read["attn_res_layers"]) == (16, 128, 16, [8, 16])
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = gan.sample(g.to_native_z(z))  # the project's sampler: GE(z).clamp(0, 1)
    torch.testing.assert_close(lightweight_images(g, z), expected, rtol=0, atol=1e-5)
    hub.repos.commit(
        "huggan/lightweight-bad",
        {"config.json": json.dumps({**config, "image_size": 256}), "model.pt": tmp_path / "model.pt"},
    )
    with pytest.raises(ArchitectureError, match=r"hub:huggan/lightweight-bad:config.json disagrees.*image_size=256"):
        load_generator("hub:huggan/lightweight-bad")


def test_biggan_repo_config_is_evidence_and_truncation_is_the_one_option(hub, tmp_path):
    model = zoo.PretrainedBigGAN(seed=0)
    folder = model.save_pretrained(tmp_path / "biggan")
    weights = state_bytes(model.state_dict(), tmp_path / "legacy.bin", legacy=True)  # the project's legacy format
    hub.repos.commit(
        "huggingface/biggan-deep-toy", {"config.json": folder / "config.json", "pytorch_model.bin": weights}
    )
    with pytest.warns(AssumptionWarning, match="--option truncation=0.4"):
        g = load_generator("hub:huggingface/biggan-deep-toy")
    read = g.meta["config_options"]
    assert g.meta["architecture"] == "biggan" and (read["z_dim"], read["num_classes"], read["output_dim"]) == (8, 5, 32)
    assert read["layers"] == [list(layer) for layer in zoo.BIGGAN_TOY_CONFIG["layers"]]
    z, d = torch.randn(5, 8, generator=torch.Generator().manual_seed(4)), torch.eye(5)
    for truncation in (1.0, 0.4):
        if truncation != 1.0:
            g = load_generator("hub:huggingface/biggan-deep-toy", options={"truncation": truncation})
        lo, hi = g.spec.native_output_range
        with torch.no_grad():
            expected = model(g.to_native_z(z), d, truncation)
            images = (g.decode(Latents(z=z, d=d)) + 1) / 2 * (hi - lo) + lo
        torch.testing.assert_close(images, expected, rtol=0, atol=1e-5)
    config = json.loads((folder / "config.json").read_text())
    hub.repos.commit(
        "huggingface/biggan-bad",
        {"config.json": json.dumps({**config, "num_classes": 1000}), "pytorch_model.bin": weights},
    )
    with pytest.raises(ArchitectureError, match=r"hub:huggingface/biggan-bad:config.json disagrees.*num_classes"):
        load_generator("hub:huggingface/biggan-bad", options={"truncation": 0.4})


class MixinHugGAN(nn.Module, PyTorchModelHubMixin):
    """A mixin repo: config.json holds these init kwargs (written by a current huggingface_hub)."""

    def __init__(self, nz: int = 8, ngf: int = 4, nc: int = 3, image_size: int = 64):
        super().__init__()
        self.model = zoo.HugGANDCGAN(nc, nz, ngf).model

    def forward(self, z):
        return self.model(z)


def test_mixin_repo_config_is_evidence_and_a_disagreement_names_both(hub, tmp_path):
    torch.manual_seed(0)
    model = MixinHugGAN()
    zoo.calibrate(model, HUGGAN)
    model.save_pretrained(tmp_path / "mixin")
    files = {n: tmp_path / "mixin" / n for n in ("config.json", "model.safetensors")}
    hub.repos.commit("someone/mixin", files)
    g = load_generator("hub:someone/mixin")
    assert g.meta["config_options"] == {"nz": 8, "width": 4, "channels": 3, "resolution": 64}
    same_images(g, model, HUGGAN, zoo.latents_for(HUGGAN, 4))
    config = json.loads(files["config.json"].read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**config, "nz": 16}))
    hub.repos.commit(
        "someone/mixin-bad", {"config.json": tmp_path / "bad.json", "model.safetensors": files["model.safetensors"]}
    )
    with pytest.raises(ArchitectureError) as info:
        load_generator("hub:someone/mixin-bad", options={"strides": "1,2,2,2,2", "paddings": "0,1,1,1,1"})
    message = str(info.value)
    assert "hub:someone/mixin-bad:config.json" in message and "hub:someone/mixin-bad:model.safetensors" in message
    assert "nz=16 where the weights have 8" in message and "hf-cache" not in message


class BaseConfig:
    """pytorch_GAN_zoo's models/utils/config.py BaseConfig: a plain attribute holder."""


zoo.pickled_as(BaseConfig, "models.utils.config", "BaseConfig")


@pytest.mark.parametrize("legacy", [False, True])
def test_pytorch_gan_zoo_checkpoint_with_a_pickled_config(hub, tmp_path, legacy):
    net_g = GAN_ZOO.build(seed=1)
    avg_g = GAN_ZOO.build(seed=2)  # the average generator: what the zoo samples from
    config = BaseConfig()
    config.__dict__.update(
        latentVectorDim=8, dimG=4, depth=2, dimOutput=3, lossCriterion="DCGAN", learningRate=0.001, attribKeysOrder=None
    )
    checkpoint = {
        "config": config,
        "netG": net_g.state_dict(),
        "netD": {"main.0.weight": torch.zeros(4, 3, 4, 4)},
        "avgG": avg_g.state_dict(),
    }
    zoo.save_pickled_as(
        checkpoint, tmp_path / "DCGAN_fashionGen-1d67302.pth", {"models.utils.config": BaseConfig}, legacy=legacy
    )
    hub.repos.commit(
        "someone/gan-zoo-dcgan", {"DCGAN_fashionGen-1d67302.pth": tmp_path / "DCGAN_fashionGen-1d67302.pth"}
    )
    with pytest.warns(UserWarning, match="using avgG, the moving average"):
        g = load_generator("hub:someone/gan-zoo-dcgan")
    assert g.meta["entry"] == "avgG" and g.meta["ema"] and g.meta["batchnorm"] == "train"
    latents = zoo.latents_for(GAN_ZOO, 8)
    zoo_sampling = copy.deepcopy(avg_g).train()  # the zoo never calls eval(): batch statistics
    with torch.no_grad():
        expected = zoo_sampling(latents.z[:, :, None, None])
        torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-5)
    g.eval()  # stays in batch-statistics mode
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-5)
    running = load_generator(
        "hub:someone/gan-zoo-dcgan", options={"bn": "eval", "strides": "1,2,2,2", "paddings": "0,1,1,1"}
    )
    same_images(running, avg_g, GAN_ZOO, latents)


def test_odd_file_names_pick_the_latest_generator_and_say_so(hub, tmp_path):
    old, new = DCGAN.build(seed=1), DCGAN.build(seed=2)
    files = {
        "netG_epoch_10.pth": state_bytes(old.state_dict(), tmp_path / "a"),
        "netG_epoch_24.pth": state_bytes(new.state_dict(), tmp_path / "b"),
        "netD_epoch_24.pth": state_bytes({"main.0.weight": torch.zeros(4, 3, 4, 4)}, tmp_path / "c"),
        "optimizer.pt": state_bytes({"state": {}}, tmp_path / "d"),
    }
    hub.repos.commit("someone/odd", files)
    latents = zoo.latents_for(DCGAN, 4)
    with pytest.warns(UserWarning, match=r"using netG_epoch_24.pth.*hub:someone/odd:FILE"):
        same_images(load_generator("hub:someone/odd", options=FAST), new, DCGAN, latents)
    same_images(load_generator("hub:someone/odd:netG_epoch_10.pth", options=FAST), old, DCGAN, latents)
    hub.repos.commit(
        "someone/cyclegan", {"netG_A.pth": files["netG_epoch_10.pth"], "netG_B.pth": files["netG_epoch_24.pth"]}
    )
    with pytest.raises(SourceError, match="nothing tells which is the generator.*hub:someone/cyclegan:FILE"):
        load_generator("hub:someone/cyclegan", options=FAST)


def test_whole_gan_state_dict_prefers_the_moving_average_and_key_selection(hub, tmp_path):
    raw, ema = DCGAN.build(seed=1), DCGAN.build(seed=2)
    gan = {
        **{f"G.{k}": v for k, v in raw.state_dict().items()},
        **{f"GE.{k}": v for k, v in ema.state_dict().items()},
        "D.main.0.weight": torch.zeros(4, 3, 4, 4),
        "D_aug.D.main.0.weight": torch.zeros(4, 3, 4, 4),
    }
    blob = state_bytes({"GAN": gan, "version": "0.21.0", "G_scaler": {}, "D_scaler": {}}, tmp_path / "m")
    hub.repos.commit("someone/lightweight", {"model.pt": blob})
    latents = zoo.latents_for(DCGAN, 4)
    with pytest.warns(UserWarning, match="using GE, the moving average"):
        g = load_generator("hub:someone/lightweight", options=FAST)
    assert g.meta["entry"] == "GAN.GE" and g.meta["ema"]
    same_images(g, ema, DCGAN, latents)
    same_images(load_generator("hub:someone/lightweight:model.pt#GAN.G", options=FAST), raw, DCGAN, latents)
    with pytest.raises(SourceError, match="hub:someone/lightweight.*no entry 'nope'") as info:
        load_generator("hub:someone/lightweight:model.pt#nope", options=FAST)
    assert "hf-cache" not in str(info.value)


def test_wrapped_and_sharded_weights(hub, tmp_path):
    module = DCGAN.build()
    sd = {k: v.contiguous() for k, v in module.state_dict().items()}
    wrapped = {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}
    hub.repos.commit("someone/wrapped", {"checkpoint.ckpt": state_bytes(wrapped, tmp_path / "w")})
    latents = zoo.latents_for(DCGAN, 4)
    same_images(load_generator("hub:someone/wrapped", options=FAST), module, DCGAN, latents)
    names = sorted(sd)
    half = {
        "model-00001-of-00002.safetensors": names[: len(names) // 2],
        "model-00002-of-00002.safetensors": names[len(names) // 2 :],
    }
    files = {}
    for shard, keys in half.items():
        save_file({k: sd[k] for k in keys}, str(tmp_path / shard))
        files[shard] = tmp_path / shard
    index = {"metadata": {}, "weight_map": {k: shard for shard, keys in half.items() for k in keys}}
    files["model.safetensors.index.json"] = json.dumps(index)
    hub.repos.commit("someone/sharded", files)
    sharded = load_generator("hub:someone/sharded", options=FAST)
    same_images(sharded, module, DCGAN, latents)
    # an outside audit: a tensor in two shards was taken from the later one in silence, a tensor the index puts in
    # another shard was not noticed, and the recorded hash was the first shard's alone
    first, second = half
    other = DCGAN.build(seed=5).state_dict()
    duplicated = dict(files)
    save_file({**{k: sd[k] for k in half[second]}, names[0]: other[names[0]].contiguous()}, str(tmp_path / "dup"))
    duplicated[second] = tmp_path / "dup"
    hub.repos.commit("someone/duplicated", duplicated)
    with pytest.raises(SourceError, match=f"the tensor '{names[0]}' is in two shards"):
        load_generator("hub:someone/duplicated", options=FAST)
    misplaced = dict(files)
    index["weight_map"][names[0]] = second
    misplaced["model.safetensors.index.json"] = json.dumps(index)
    hub.repos.commit("someone/misplaced", misplaced)
    with pytest.raises(SourceError, match="the index model.safetensors.index.json and its shards disagree"):
        load_generator("hub:someone/misplaced", options=FAST)
    assert sharded.meta["weights_sha256"] != file_sha256(tmp_path / first)  # every shard counts
    # a shard refused is named, not only the index (an outside audit, 53a)
    torn = dict(files)
    torn[second] = b"not a safetensors file"
    hub.repos.commit("someone/torn", torn)
    with pytest.raises(GaninvError, match=rf"model\.safetensors\.index\.json's shard {second}"):
        load_generator("hub:someone/torn", options=FAST)


def test_revision_pinning_records_the_resolved_commit_and_works_offline(hub, tmp_path, monkeypatch):
    old, new = DCGAN.build(seed=1), DCGAN.build(seed=2)
    first = hub.repos.commit(
        "someone/pinned", {"generator.pth": state_bytes(old.state_dict(), tmp_path / "a")}, refs=("main", "v1")
    )
    second = hub.repos.commit("someone/pinned", {"generator.pth": state_bytes(new.state_dict(), tmp_path / "b")})
    latents = zoo.latents_for(DCGAN, 4)
    for source, module, sha in [
        ("hub:someone/pinned", new, second),
        ("hub:someone/pinned@v1", old, first),
        (f"hub:someone/pinned@{first}", old, first),
    ]:
        g = load_generator(source, options=FAST)
        assert g.meta["revision"] == sha and g.source == source
        same_images(g, module, DCGAN, latents)
    assert load_generator("hub:someone/pinned@v1", options=FAST).meta["hub"]["requested_revision"] == "v1"
    with pytest.raises(SourceError, match="hub:someone/pinned@nope: no such revision"):
        load_generator("hub:someone/pinned@nope", options=FAST)
    gone = "0123456789abcdef" * 2 + "01234567"  # a commit a run pinned, since rewritten away (audit 41b)
    with pytest.raises(
        SourceError,
        match=rf"no commit {gone} on the Hub nor in the local cache: mistyped, or.* start anew from hub:someone/p",
    ):
        load_generator(f"hub:someone/pinned@{gone}", options=FAST)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.log)
    same_images(load_generator("hub:someone/pinned@v1", options=FAST), old, DCGAN, latents)
    same_images(load_generator(f"hub:someone/pinned@{first[:10]}", options=FAST), old, DCGAN, latents)
    assert len(hub.log) == before  # offline: no request at all


def test_server_down_falls_back_to_the_cache_fast_without_retries(hub, tmp_path, caplog):
    module = DCGAN.build()
    hub.repos.commit("someone/cached", {"pytorch_model.bin": state_bytes(module.state_dict(), tmp_path / "w")})
    load_generator("hub:someone/cached", options=FAST)
    hub.stop()
    ganinv_hub._LISTINGS.clear()  # as a new process would: no listing kept from the first load
    start = time.monotonic()
    with caplog.at_level(logging.INFO), pytest.warns(UserWarning, match="could not be reached.*hub:someone/cached"):
        g = load_generator("hub:someone/cached", options=FAST)
    assert time.monotonic() - start < 5
    assert not [r for r in caplog.records if "Retrying" in r.getMessage() or "retry" in r.getMessage().lower()]
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))
    with pytest.raises(
        SourceError, match="hub:someone/never is not in the local Hugging Face cache and the Hub could not be reached"
    ):
        load_generator("hub:someone/never", options=FAST)


def test_errors_name_the_hub_id_never_the_cache(hub, tmp_path):
    hub.repos.commit("someone/broken", {"pytorch_model.bin": b"not a pickle", "README.md": "hi"})
    hub.repos.commit("someone/readme-only", {"README.md": "hi"})
    for source, pattern in [
        ("hub:someone/broken", "hub:someone/broken"),
        ("hub:someone/readme-only", "hub:someone/readme-only has no weights file.*README.md"),
        ("hub:someone/broken:nope.pt", "hub:someone/broken has no file 'nope.pt'"),
        ("hub:nobody/nothing", "no Hugging Face repo 'nobody/nothing'"),
    ]:
        with pytest.raises(SourceError, match=pattern) as info:
            load_generator(source, options=FAST)
        assert "hf-cache" not in str(info.value) and "\n" not in str(info.value)


def test_pickle_named_weights_are_chosen_and_unnamed_ones_are_pointed_to(hub, tmp_path):
    """Audit 10a: a repo of `generator.pkl` and `discriminator.pkl` (Zeleni9/pytorch-wgan) had "no weights file"; one
    whose checkpoint has no suffix (Natsu6767's `model_final_MNIST`) did not say how to name it."""
    module = DCGAN.build()
    critic = {"main.0.weight": torch.randn(4, 3, 4, 4)}
    hub.repos.commit(
        "someone/pkl",
        {
            "generator.pkl": state_bytes(module.state_dict(), tmp_path / "g"),
            "discriminator.pkl": state_bytes(critic, tmp_path / "d"),
        },
    )
    g = load_generator("hub:someone/pkl", options=FAST)
    assert g.meta["hub"]["file"] == "generator.pkl"
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))
    hub.repos.commit("someone/bare", {"model_final_MNIST": state_bytes({"netG": module.state_dict()}, tmp_path / "b")})
    with pytest.raises(SourceError, match=r"name it: hub:someone/bare:FILE"):
        load_generator("hub:someone/bare", options=FAST)
    same_images(
        load_generator("hub:someone/bare:model_final_MNIST", options=FAST), module, DCGAN, zoo.latents_for(DCGAN, 4)
    )


def test_torchgans_model_suffix_is_weights_and_a_tokenizer_is_not(hub, tmp_path):
    """Audit 30a F5: torchgan's Trainer saves `gan{slot}.model` (the generator's state dict among its losses' and
    optimizers'); a repo of it had "no weights file". A sentencepiece `tokenizer.model` beside it is no candidate."""
    module = DCGAN.build()
    saved = {"generator": module.state_dict(), "optimizer_generator": {"state": {}}, "epoch": 24}
    hub.repos.commit(
        "torchgan-user/dcgan",
        {"gan24.model": state_bytes(saved, tmp_path / "t"), "tokenizer.model": b"\x0a\x05hello", "README.md": "hi"},
    )
    g = load_generator("hub:torchgan-user/dcgan", options=FAST)
    assert g.meta["hub"]["file"] == "gan24.model"
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))
    # review 33a: other libraries' .model files (sentencepiece, gensim) beside weights are no candidates
    others = {"bpe.model": b"\x0a\x05hello", "word2vec_latest.model": b"x", "README.md": "hi"}
    hub.repos.commit(
        "someone/with-text-models", {"weights.pt": state_bytes(module.state_dict(), tmp_path / "w"), **others}
    )
    assert load_generator("hub:someone/with-text-models", options=FAST).meta["hub"]["file"] == "weights.pt"


def test_a_malicious_pickle_on_the_hub_does_not_run(hub, tmp_path):
    marker = tmp_path / "pwned"
    blob = state_bytes({"netG": DCGAN.build().state_dict(), "hook": zoo.Marker(str(marker))}, tmp_path / "e")
    hub.repos.commit("someone/evil", {"generator.pth": blob})
    with pytest.raises(UnsafeFileError, match=r"hub:someone/evil:generator.pth calls io.open while unpickling"):
        load_generator("hub:someone/evil", options=FAST)
    assert not marker.exists()


def test_a_disagreeing_config_is_the_only_thing_said(hub, tmp_path):
    """The weights-alone assumptions are said when the weights alone are taken, not before the error that refuses
    them."""
    module = HUGGAN.build()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "model.safetensors"))
    bad = {"num_channels": 3, "latent_dim": 8, "hidden_size": 64}
    hub.repos.commit(
        "huggan/bad", {"config.json": json.dumps(bad), "model.safetensors": tmp_path / "model.safetensors"}
    )
    hub.repos.commit("huggan/none", {"model.safetensors": tmp_path / "model.safetensors"})
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(ArchitectureError, match="disagrees"):
            load_generator("hub:huggan/bad")
    assert not [w for w in said if issubclass(w.category, AssumptionWarning)], [str(w.message) for w in said]
    with pytest.warns(AssumptionWarning, match="output"):  # the same weights alone: the assumptions are said
        load_generator("hub:huggan/none")


def test_a_program_on_the_hub_runs_only_with_trust(hub, tmp_path):
    module = DCGAN.build().eval()
    torch.jit.trace(module, torch.randn(2, DCGAN.nz, 1, 1)).save(str(tmp_path / "g.pt"))
    hub.repos.commit("someone/program", {"generator.pt": tmp_path / "g.pt"})
    spec = {"spec.nz": str(DCGAN.nz), "spec.native_latent_shape": f"{DCGAN.nz},1,1"}  # --nz 8 --latent-shape 8,1,1
    with pytest.raises(UnsafeFileError, match=r"hub:someone/program:generator.pt is a TorchScript program"):
        load_generator("hub:someone/program", options=spec)
    g = load_generator("hub:someone/program", options=spec, trust_remote_code=True)
    z = torch.randn(3, DCGAN.nz)
    with torch.no_grad():
        torch.testing.assert_close(g.decode(Latents(z=z)), module(z[:, :, None, None]), rtol=0, atol=1e-6)


def test_snapshot_fetches_only_the_listed_files_that_match(hub):
    hub.repos.commit(
        "someone/artifact",
        {"config.json": "{}", "model.safetensors": b"x", "generator/config.json": "{}", "logs/big.bin": b"y"},
    )
    folder = ganinv_hub.snapshot("someone/artifact", None, ["config.json", "generator/*"])
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "config.json",
        "generator/config.json",
    ]
    assert not hub.requested("big.bin") and not hub.requested("model.safetensors")


def test_a_whole_pickled_module_on_the_hub_gives_its_layer_records(hub, tmp_path):
    """The same evidence as a local file: a repo holding torch.save(model) with a Sigmoid output loads with it."""
    module = DCGAN.build().eval()
    module.main[-1] = nn.Sigmoid()
    torch.save(module, tmp_path / "g.pth")
    hub.repos.commit("someone/whole", {"generator.pth": tmp_path / "g.pth"})
    g = load_generator("hub:someone/whole")
    assert g.meta["options"]["output"] == "sigmoid" and g.meta["config_options"]["strides"] == "1,2,2,2"
    z = zoo.latents_for(DCGAN, 4).z
    with torch.no_grad():
        torch.testing.assert_close(g.decode(Latents(z=z)), module(z[:, :, None, None]) * 2 - 1, rtol=0, atol=1e-5)


def test_a_fit_resumes_on_the_commit_it_started_from_after_the_branch_moved(hub, tmp_path):
    """`fit -g hub:owner/name`, stopped, then main moved to other weights: --resume looked main up again and refused
    with advice about relative paths, and naming the recorded commit was refused too (audit 9)."""
    from click.testing import CliRunner

    from ganinv.cli.main import cli

    module = HUGGAN.build()
    first = hub.repos.commit("me/moving", {"pytorch_model.bin": state_bytes(module.state_dict(), tmp_path / "a.bin")})
    out = tmp_path / "run"
    common = ["--width", "4", "--hidden", "8", "--eval-every", "2", "--checkpoint-every", "2", "--quiet"]
    started = CliRunner().invoke(cli, ["fit", "-g", "hub:me/moving", "--steps", "2", "--out", str(out), *common])
    assert started.exit_code == 0, started.output
    moved = {k: v + 0.1 for k, v in module.state_dict().items()}  # other weights on main
    hub.repos.commit("me/moving", {"pytorch_model.bin": state_bytes(moved, tmp_path / "b.bin")})
    ganinv_hub._LISTINGS.clear()  # a resume is a new process: it lists the repo again
    resumed = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--out", str(out), "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    ganinv_hub._LISTINGS.clear()
    typed = CliRunner().invoke(
        cli, ["fit", "--resume", "--steps", "6", "-g", f"hub:me/moving@{first}", "--out", str(out), "--quiet"]
    )
    assert typed.exit_code == 0, typed.output
    config = json.loads((out / "inverter" / "config.json").read_text())
    assert first in json.dumps(config)  # the inverter records the commit it was fitted on


@pytest.mark.parametrize(
    "url, hub_id",
    [
        ("https://huggingface.co/me/gan", "hub:me/gan"),
        ("https://huggingface.co/me/gan/tree/main", "hub:me/gan@main"),
        ("hub:https://huggingface.co/me/gan/blob/v1/ckpt/G.pth", "hub:me/gan@v1:ckpt/G.pth"),
        ("https://hf.co/me/gan/resolve/main/G.pth?download=true", "hub:me/gan@main:G.pth"),
    ],
)
def test_a_pasted_hub_address_is_refused_naming_the_hub_id(url, hub_id):
    """Audit 13b: read as module:callable ("No module named 'https'"), or after hub: as a repo named https."""
    with pytest.raises(SourceError, match=f"is a web address; write the repo it names as {hub_id}$"):
        load_generator(url)


def test_a_json_beside_the_weights_that_is_no_spec_is_ignored_out_loud(hub, tmp_path):
    """Audit 13b: a training script's `netG.pth.json` of epochs and losses was read as a spec sidecar and refused
    ("unknown spec field 'epoch'", naming no file), with no way past it."""
    module = DCGAN.build()
    files = {"netG.pth": state_bytes(module.state_dict(), tmp_path / "w"), "netG.pth.json": '{"epoch": 24}'}
    hub.repos.commit("me/sidecar", files)
    with pytest.warns(UserWarning, match=r"hub:me/sidecar:netG\.pth\.json holds no generator spec \(epoch\)"):
        g = load_generator("hub:me/sidecar", options=FAST)
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))


def test_a_config_value_that_is_not_finite_is_refused_naming_the_config(hub, tmp_path):
    """Audit 13b: `{"ngf": Infinity}` (or 1e400) was an internal OverflowError."""
    weights = state_bytes(DCGAN.build().state_dict(), tmp_path / "w")
    hub.repos.commit("me/infinite", {"netG.pth": weights, "config.json": '{"nz": 8, "ngf": Infinity}'})
    with pytest.raises(ArchitectureError, match=r"hub:me/infinite:config\.json: width=inf is not a finite number"):
        load_generator("hub:me/infinite")


def test_offline_the_file_chosen_online_is_loaded_or_the_choice_among_cached_files_is_said(hub, tmp_path, monkeypatch):
    """Audit 13b: offline, the cache's files were taken as the repo's listing: after `hub:me/ema:generator.pth`, an
    offline `hub:me/ema` loaded the online weights, not the moving average online picks, in silence."""
    online, average = DCGAN.build(seed=1), DCGAN.build(seed=2)
    files = {
        "generator.pth": state_bytes(online.state_dict(), tmp_path / "a"),
        "generator_ema.pth": state_bytes(average.state_dict(), tmp_path / "b"),
    }
    hub.repos.commit("me/ema", files)
    load_generator("hub:me/ema:generator.pth", options=FAST)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(
        UserWarning, match=r"read from the cache, which holds only the files fetched.*no config.json.*hub:me/ema:FILE"
    ):
        load_generator("hub:me/ema", options=FAST)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.warns(UserWarning, match="using generator_ema.pth"):
        load_generator("hub:me/ema", options=FAST)  # online: the choice is recorded with the commit
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(UserWarning, match=r"\(offline\): using generator_ema.pth, the file chosen online") as said:
        g = load_generator("hub:me/ema", options=FAST)
    assert not [w for w in said if "read from the cache" in str(w.message)]  # the recorded choice, not a new one
    same_images(g, average, DCGAN, zoo.latents_for(DCGAN, 4))


def test_offline_a_cache_without_the_config_read_online_is_refused_not_loaded_without_it(hub, tmp_path, monkeypatch):
    """Audit 36c: a cache holding a repo's weights but not its config.json (fetched one by one) loaded a Tanh
    generator for the repo's Sigmoid one offline, its only advice ":FILE". The config read online is recorded with
    the choice; without a record, the cached files alone are said to hold no config."""
    module = DCGAN.build()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"final_activation": "tanh"}))
    hub.repos.commit("me/cfg", {"config.json": config, "netG.pth": state_bytes(module.state_dict(), tmp_path / "w")})
    load_generator("hub:me/cfg", options=FAST)  # online: netG.pth read with config.json, recorded
    snapshot = next(ganinv_hub.repo_folder("me/cfg").glob("snapshots/*"))
    (snapshot / "config.json").unlink()  # as a cache cleanup or a one-file download leaves it
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ganinv_hub._LISTINGS.clear()  # as a new process would
    for source in ("hub:me/cfg", "hub:me/cfg:netG.pth"):  # review 37a: an inverter names the file it was fitted on
        with pytest.raises(
            SourceError, match=r"the cached snapshot of hub:me/cfg lacks config.json, which ganinv read"
        ):
            load_generator(source, options=FAST)
    for note in (ganinv_hub.repo_folder("me/cfg") / ganinv_hub.CHOICES).iterdir():
        note.unlink()  # no record: a cache some other tool filled
    with pytest.warns(UserWarning, match=r"no config.json or spec file is cached beside it, and one the repo may"):
        load_generator("hub:me/cfg", options=FAST)


def test_standard_names_in_two_folders_are_two_models_and_the_choice_is_said(hub, tmp_path):
    """Audit 13b: `pytorch_model.bin` beside `ema/pytorch_model.bin` was taken for one model in two formats and the
    choice left to a log line the command line never shows."""
    files = {
        "pytorch_model.bin": state_bytes(DCGAN.build(seed=1).state_dict(), tmp_path / "a"),
        "ema/pytorch_model.bin": state_bytes(DCGAN.build(seed=2).state_dict(), tmp_path / "b"),
    }
    hub.repos.commit("me/emadir", files)
    with pytest.warns(UserWarning, match=r"has 2 weights files.*using ema/pytorch_model\.bin"):
        load_generator("hub:me/emadir", options=FAST)


def test_an_inverter_reloads_its_hub_generator_at_the_commit_it_was_fitted_on(hub, tmp_path):
    """Audit 13b: an inverter published without its generator reloaded `hub:owner/name` at the branch's head after
    the branch moved: another generator, no word."""
    from ganinv.inverter import Inverter

    fitted_on, moved = DCGAN.build(seed=1), DCGAN.build(seed=2)
    hub.repos.commit("me/moving-g", {"netG.pth": state_bytes(fitted_on.state_dict(), tmp_path / "a")})
    g = load_generator("hub:me/moving-g", options=FAST)
    inverter = Inverter.for_generator(g, width=4, hidden=8, options=FAST)
    hub.repos.commit("me/moving-g", {"netG.pth": state_bytes(moved.state_dict(), tmp_path / "b")})
    ganinv_hub._LISTINGS.clear()
    reloaded = Inverter(spec=inverter.spec.to_dict(), generator_ref=inverter.generator_ref, width=4, hidden=8)
    same_images(reloaded.generator, fitted_on, DCGAN, zoo.latents_for(DCGAN, 4))


def test_an_inverter_reloads_the_hub_file_it_was_fitted_on_not_a_choice_among_cached_files(hub, tmp_path, monkeypatch):
    """Audit 36c: offline, an inverter whose generator's chosen file the cache no longer held chose among the cached
    files (the raw weights for the moving average) and was refused as "the file was replaced since; fit again"."""
    from ganinv.inverter import Inverter

    raw, average = DCGAN.build(seed=1), DCGAN.build(seed=2)
    files = {
        "G.pth": state_bytes(raw.state_dict(), tmp_path / "a"),
        "G_ema.pth": state_bytes(average.state_dict(), tmp_path / "b"),
    }
    hub.repos.commit("me/two", files)
    g = load_generator("hub:me/two", options=FAST)
    inverter = Inverter.for_generator(g, width=4, hidden=8, options=FAST)
    assert g.meta["hub"]["file"] == "G_ema.pth"
    repo = ganinv_hub.repo_folder("me/two")
    load_generator("hub:me/two:G.pth", options=FAST)  # the raw weights cached too
    next(repo.glob("snapshots/*/G_ema.pth")).unlink()  # a cache cleanup
    for note in (repo / ganinv_hub.CHOICES).iterdir():
        note.unlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ganinv_hub._LISTINGS.clear()
    reloaded = Inverter(spec=inverter.spec.to_dict(), generator_ref=inverter.generator_ref, width=4, hidden=8)
    with pytest.raises(
        SourceError, match=r"the cached snapshot of hub:me/two@\w+ has no file 'G_ema.pth'.*unset HF_HUB"
    ):
        reloaded.generator
    monkeypatch.delenv("HF_HUB_OFFLINE")
    ganinv_hub._LISTINGS.clear()
    same_images(reloaded.generator, average, DCGAN, zoo.latents_for(DCGAN, 4))


@pytest.mark.parametrize(
    "files, chosen",
    [
        (["G_128_epoch_5.pth", "G_64_epoch_100.pth"], "G_64_epoch_100.pth"),  # the epoch, not the resolution
        (["checkpoint_epoch_50.pt", "checkpoint_epoch_100.pt", "latest.pt"], "latest.pt"),
        (["netG.pth", "opt_G.pth"], "netG.pth"),  # the generator's optimizer state is no candidate
        (["GAN_G.pkl", "GAN_history.pkl"], "GAN_G.pkl"),  # loss lists (znxlwm's save()) are no candidate (43a)
        (["history/netG_epoch_24.pth", "GAN_history.pkl"], "history/netG_epoch_24.pth"),  # a folder's word: not
        (["wgan.pth", "G_losses.pth"], "wgan.pth"),  # the DCGAN tutorial's loss lists, though their name says G
        (["dcgan_64_100.pth", "dcgan_32_200.pth"], None),  # numbers that say nothing: refused, naming :FILE
    ],
)
def test_a_number_in_a_name_ranks_by_the_epoch_or_step_it_follows(files, chosen):
    """Audit 13b: the largest number anywhere won (a resolution of 128 over epoch 100), announced as "the most
    generator-like name"; `latest` was never read, and `opt_G.pth` made a repo ambiguous."""
    if chosen is None:
        with pytest.raises(SourceError, match="nothing tells which is the generator.*hub:me/gan:FILE"):
            repo_files.pick_weights(files, "hub:me/gan")
        return
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert repo_files.pick_weights(files, "hub:me/gan")[0] == chosen
    assert all(f"using {chosen}, the latest by the epoch or step" in str(w.message) for w in said)
    assert len(said) == (0 if {"opt_G.pth", "GAN_history.pkl", "G_losses.pth"} & set(files) else 1)  # one left


def test_a_config_with_a_byte_order_mark_or_of_another_library_does_not_block_loading(hub, tmp_path):
    """Audit 13b: a config.json saved with a UTF-8 byte-order mark was refused as invalid JSON; a transformers
    model's config beside GAN weights (`hidden_size`, `image_size`, `num_channels`) was read as DCGAN sizes and the
    load refused until every field was overridden."""
    module = DCGAN.build()
    weights = state_bytes(module.state_dict(), tmp_path / "w")
    hub.repos.commit("me/bom", {"netG.pth": weights, "config.json": "\ufeff" + json.dumps({"nz": 8})})
    same_images(load_generator("hub:me/bom", options=FAST), module, DCGAN, zoo.latents_for(DCGAN, 4))
    vit = {"model_type": "vit", "hidden_size": 768, "image_size": 224, "num_channels": 3}
    hub.repos.commit("me/vitcfg", {"generator/G.pth": weights, "config.json": json.dumps(vit)})
    with pytest.warns(UserWarning, match=r"config\.json configures another library's model \(model_type\)"):
        g = load_generator("hub:me/vitcfg", options=FAST)
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))


def test_an_artifact_cached_in_part_is_said_so_offline_not_called_damaged(hub, tmp_path, monkeypatch):
    """Audit 13b: offline, an inverter whose weights never reached the cache was "damaged, save or download it
    again", naming the cache's path."""
    from ganinv.inverter import Inverter

    weights = state_bytes(DCGAN.build().state_dict(), tmp_path / "w")
    hub.repos.commit("me/g", {"netG.pth": weights})
    Inverter.for_generator(load_generator("hub:me/g", options=FAST), width=4, hidden=8).save_pretrained(tmp_path / "a")
    files = {str(p.relative_to(tmp_path / "a")): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    hub.repos.commit("me/inv", files)
    Inverter.load("hub:me/inv")
    for cached in (tmp_path / "hf-cache").glob("models--me--inv/snapshots/*/model.safetensors"):
        cached.unlink()  # a download cut short
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SourceError, match=r"^the cached snapshot of hub:me/inv lacks model\.safetensors .*online"):
        Inverter.load("hub:me/inv")


def test_two_formats_of_one_model_are_compared_and_different_weights_refused(hub, tmp_path):
    """Audit 16 F4: `model.safetensors` beside a `pytorch_model.bin` of other weights (one of them stale) was read
    as one model in two formats, the safetensors taken in silence."""
    module, other = DCGAN.build(seed=0), DCGAN.build(seed=9)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "model.safetensors"))
    safetensors = tmp_path / "model.safetensors"
    hub.repos.commit(
        "me/two-formats",
        {"model.safetensors": safetensors, "pytorch_model.bin": state_bytes(module.state_dict(), tmp_path / "a")},
    )
    half = {k: v.bfloat16() if v.is_floating_point() else v for k, v in module.state_dict().items()}  # coarsest
    hub.repos.commit(
        "me/half-bin", {"model.safetensors": safetensors, "pytorch_model.bin": state_bytes(half, tmp_path / "h")}
    )
    hub.repos.commit(
        "me/stale-bin",
        {"model.safetensors": safetensors, "pytorch_model.bin": state_bytes(other.state_dict(), tmp_path / "b")},
    )
    hub.repos.commit(
        "me/bad-bin", {"model.safetensors": safetensors, "pytorch_model.bin": b"<html><title>x</title></html>"}
    )
    for repo in ("me/two-formats", "me/half-bin"):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            g = load_generator(f"hub:{repo}", options=FAST)
        assert not [w for w in said if "pytorch_model.bin" in str(w.message)]  # one model in two formats: no news
        assert g.meta["hub"]["file"] == "model.safetensors"
        same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))
    with pytest.raises(SourceError, match=r"model\.safetensors and pytorch_model\.bin, which hold different weights"):
        load_generator("hub:me/stale-bin", options=FAST)
    three = {"model.safetensors": safetensors, "pytorch_model.bin": state_bytes(module.state_dict(), tmp_path / "c")}
    hub.repos.commit("me/stale-pt", {**three, "model.pt": state_bytes(other.state_dict(), tmp_path / "d")})
    with pytest.raises(SourceError, match=r"model\.safetensors and model\.pt, which hold different weights"):
        load_generator("hub:me/stale-pt", options=FAST)  # three formats: each is compared
    same_images(
        load_generator("hub:me/stale-bin:pytorch_model.bin", options=FAST), other, DCGAN, zoo.latents_for(DCGAN, 4)
    )
    with pytest.warns(UserWarning, match=r"pytorch_model\.bin could not be read.*HTML page"):
        load_generator("hub:me/bad-bin", options=FAST)


def test_tensor_difference_allows_the_rounding_of_the_coarser_copy_only():
    from ganinv.weight_files import tensor_difference

    x = {"w": torch.linspace(-4, 4, 1001)}
    assert tensor_difference(x, {"w": x["w"].bfloat16()}) is None  # bfloat16's rounding: one model
    assert tensor_difference(x, {"w": x["w"].half()}) is None
    assert tensor_difference(x, {"w": (x["w"] * 1.01).half()}) == "'w' differs"  # 1% off: another model
    assert tensor_difference(x, {"w": x["w"] + 1e-6}) == "'w' differs"  # the same precision: exact
    assert "in one only" in tensor_difference(x, {"v": x["w"]})


def test_a_gated_or_disabled_repo_says_why_and_what_to_do(hub, tmp_path, monkeypatch):
    """Audit 17a F7: a gated repo's download said "401 Client Error.; retry, or set HF_HUB_OFFLINE=1 to use what the
    cache has" (the cache was empty), and a disabled one "HTTP 403: 403 Forbidden: None.": the Hub's own words
    (X-Error-Message) were dropped. The server answers as the Hub does; the real client reads it."""
    import hub_server

    said = "Access to model someone/gated is restricted. You must have access to it and be authenticated to access it."
    refusals = {
        "/someone/gated/resolve/": (401, "GatedRepo", said),
        "/api/models/someone/off": (403, None, "Disabled."),
    }
    route = hub_server.Handler._route

    def refusing(self, head):
        for part, (status, code, message) in refusals.items():
            if part in self.path:
                headers = {"Content-Type": "application/json", "X-Error-Message": message}
                headers.update({"X-Error-Code": code} if code else {})
                return self._send(status, headers, json.dumps({"error": message}).encode(), head)
        return route(self, head)

    monkeypatch.setattr(hub_server.Handler, "_route", refusing)
    weights = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in DCGAN.build().state_dict().items()}, str(weights))
    for repo in ("someone/gated", "someone/off"):
        hub.repos.commit(repo, {"model.safetensors": weights})
    with pytest.raises(SourceError) as gated:
        load_generator("hub:someone/gated", options=FAST)
    message = str(gated.value)
    assert said in message and "request access on its page" in message and "hf auth login" in message, message
    assert "HF_HUB_OFFLINE" not in message
    with pytest.raises(SourceError, match=r"refused to list hub:someone/off \(HTTP 403: Disabled.\).*hf auth login"):
        load_generator("hub:someone/off", options=FAST)


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_hub_is_named_with_its_answer_and_retry_later(hub, tmp_path, monkeypatch, status):
    """The client retries a 429 or 5xx, then raises "cannot find the requested files in the local cache. Please
    check your connection", which ganinv passed on with "check the connection": the Hub's own answer (its status)
    was lost. The real client against a server that answers as a busy Hub; only its waits between retries are
    skipped."""
    import time

    import hub_server

    route = hub_server.Handler._route

    def busy(self, head):
        if "/resolve/" in self.path:
            return self._send(status, {"Content-Type": "text/plain", "Retry-After": "0"}, b"busy", head)
        return route(self, head)

    monkeypatch.setattr(hub_server.Handler, "_route", busy)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    weights = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in DCGAN.build().state_dict().items()}, str(weights))
    hub.repos.commit("someone/busy", {"model.safetensors": weights})
    with pytest.raises(SourceError) as busy_hub:
        load_generator("hub:someone/busy", options=FAST)
    message = str(busy_hub.value)
    assert str(status) in message and "retry later" in message and "check the connection" not in message, message


def test_ganinvs_records_in_the_cache_never_write_through_a_link(hub, tmp_path):
    """Audit 34a F14: a prepared cache whose choice record (or refs/main) was a link to ~/.bashrc got the repo
    author's file name written into it, `netG; touch ... #.pth`. Records replace the entry itself, inside the cache."""
    from ganinv import hub as ganinv_hub

    module = DCGAN.build()
    hub.repos.commit("someone/linked", {"netG; touch x #.pth": state_bytes(module.state_dict(), tmp_path / "w")})
    load_generator("hub:someone/linked", options=FAST)
    repo = ganinv_hub.repo_folder("someone/linked")
    (note,) = (repo / ganinv_hub.CHOICES).iterdir()
    victims = []
    for record in (note, repo / "refs" / "main"):
        victim = tmp_path / f"victim-{record.name}"
        victim.write_text("the user's own file\n")
        record.unlink()
        record.symlink_to(victim)
        victims.append(victim)
    ganinv_hub._LISTINGS.clear()  # as a new process would
    load_generator("hub:someone/linked", options=FAST)
    assert all(v.read_text() == "the user's own file\n" for v in victims)
    assert not note.is_symlink() and note.read_text() == "netG; touch x #.pth"


def test_lightning_hyper_parameters_that_contradict_the_weights_are_named_as_such(hub, tmp_path):
    """An outside audit (41b): a Hub repo's Lightning checkpoint whose hyper_parameters say another image size was
    refused as "hub:owner/name disagrees with the weights ... Fix the config", a config the repo does not have."""
    module = DCGAN.build(seed=1)
    side = DCGAN.image_shape[-1]
    checkpoint = {
        "state_dict": {f"generator.{k}": v for k, v in module.state_dict().items()},
        "hyper_parameters": {"latent_dim": DCGAN.nz, "img_size": 2 * side},
        "pytorch-lightning_version": "2.1.0",
    }
    hub.repos.commit("someone/light", {"model.ckpt": state_bytes(checkpoint, tmp_path / "c")})
    with pytest.raises(GaninvError, match=r"^the Lightning hyper_parameters in hub:someone/light:model.ckpt disagrees"):
        load_generator("hub:someone/light", options=FAST)
    same_images(
        load_generator("hub:someone/light", options={**FAST, "resolution": side}),
        module,
        DCGAN,
        zoo.latents_for(DCGAN, 4),
    )
    # review 42a: a config.json that says otherwise than the hyper_parameters was "config.json gives resolution twice"
    checkpoint["hyper_parameters"]["img_size"] = side
    config = json.dumps({"img_size": 2 * side}).encode()
    hub.repos.commit("someone/light2", {"model.ckpt": state_bytes(checkpoint, tmp_path / "d"), "config.json": config})
    with pytest.raises(GaninvError, match=rf"config.json says img_size={2 * side}, and the Lightning hyper_parameters"):
        load_generator("hub:someone/light2", options=FAST)
    g = load_generator("hub:someone/light2", options={**FAST, "resolution": side})
    same_images(g, module, DCGAN, zoo.latents_for(DCGAN, 4))


def test_torchgans_slot_numbers_are_no_epochs(tmp_path):
    """torchgan numbers `gan0.model` .. `gan4.model` by a slot it cycles through, not by epoch: gan4.model (epoch 5
    of 7) was loaded as "the latest by the epoch or step in its name" (an outside audit, 49b). Nothing in the names
    tells the latest: refused, naming the files and why; an epoch word in a name still ranks."""
    module = DCGAN.build()
    for slot, epoch in ((0, 6), (1, 7), (2, 3)):
        saved = {"generator": module.state_dict(), "epoch": epoch}
        torch.save(saved, tmp_path / f"gan{slot}.model")
    with pytest.raises(SourceError, match="if these are torchgan.s, their numbers are slots it cycles through"):
        load_generator(str(tmp_path), options=FAST)
    from ganinv.repo_files import progress

    assert progress("gan4.model") == -1 and progress("gan_epoch_4.model") == 4 and progress("netG_4.pth") == 4


def test_an_accelerate_folder_whose_model_file_is_the_critic_names_the_others(tmp_path):
    """accelerate's save_state writes model.safetensors, model_1.safetensors, ... in prepare()'s order, so the critic
    is model.safetensors where it was prepared first: refused as a discriminator, pointing to code, with the generator
    beside it unnamed; random_states_0.pkl was a "weights file" (an outside audit, 49b)."""
    from safetensors.torch import save_file as save_safetensors

    critic = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 1, 0))
    save_safetensors({k: v.contiguous() for k, v in critic.state_dict().items()}, str(tmp_path / "model.safetensors"))
    save_safetensors(
        {k: v.contiguous() for k, v in DCGAN.build().state_dict().items()}, str(tmp_path / "model_1.safetensors")
    )
    torch.save({"step": 0}, tmp_path / "random_states_0.pkl")
    with pytest.raises(GaninvError, match=r"other weights files may hold the generator: model_1\.safetensors \(name"):
        load_generator(str(tmp_path), options=FAST)
    from ganinv.repo_files import set_aside_by

    assert set_aside_by("random_states_0.pkl") == "random_states"
    assert set_aside_by("pretrained_classifier.pth") == "classifier"  # the Coursera course's, beside its generator


def _accelerate_checkpoint(
    folder: Path, generator: nn.Module, averaged: nn.Module, online: Optional[nn.Module] = None
) -> None:
    """An accelerate save_state folder of prepare(G, D) with an ema_pytorch EMA registered for checkpointing:
    model.safetensors (G's online weights), model_1.safetensors (D), custom_checkpoint_0.pkl (the EMA's state_dict:
    `online` as online_model, G by default, and `averaged` as ema_model)."""
    from safetensors.torch import save_file as save_safetensors

    critic = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 1, 0))
    folder.mkdir(parents=True)
    for name, net in (("model.safetensors", generator), ("model_1.safetensors", critic)):
        save_safetensors({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / name))
    ema_state = {"initted": torch.tensor(True), "step": torch.tensor(40)}
    ema_state |= {f"online_model.{k}": v for k, v in (online or generator).state_dict().items()}
    ema_state |= {f"ema_model.{k}": v for k, v in averaged.state_dict().items()}
    torch.save(ema_state, folder / "custom_checkpoint_0.pkl")


AVERAGE_TAKEN = (
    r"using (checkpoint_5/)?custom_checkpoint_0\.pkl: it holds ema_model, a moving average of the generator in "
    r"(checkpoint_5/)?model\.safetensors .* "
    r"the online weights: .*model\.safetensors"
)


def test_an_accelerate_folder_takes_the_registered_moving_average_of_its_generator(tmp_path):
    """`accelerator.register_for_checkpointing(ema)` saves ema_pytorch's state (online_model, ema_model) as
    custom_checkpoint_0.pkl beside model.safetensors (the online generator): the online weights had been taken "by
    their standard name", the average unnamed (an outside audit, 49b). An average of another net is passed over."""
    online, average = DCGAN.build(seed=1), DCGAN.build(seed=2)
    latents = zoo.latents_for(DCGAN, 3)
    folder = tmp_path / "FILES" / "ema_of_g"  # the note's `DIR/FILE` filled at its placeholder only (a review)
    _accelerate_checkpoint(folder, online, average)
    with pytest.warns(UserWarning, match=AVERAGE_TAKEN) as said:
        loaded = load_generator(str(folder), options=FAST)
    assert any(str(folder / "model.safetensors") in str(w.message) for w in said)
    torch.testing.assert_close(loaded.decode(latents), DCGAN.reference(average, latents), rtol=0, atol=1e-6)
    critic = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 1, 0))
    _accelerate_checkpoint(tmp_path / "ema_of_d", online, critic, online=critic)
    # two generators of one architecture (a CycleGAN's), the EMA of the other one: its online copy is not this file
    # (its average had been taken for this generator's: a review, 52a)
    _accelerate_checkpoint(tmp_path / "ema_of_other_g", online, average, online=DCGAN.build(seed=3))
    for folder in ("ema_of_d", "ema_of_other_g"):
        with pytest.warns(UserWarning, match=r"using model\.safetensors, its standard name"):
            loaded = load_generator(str(tmp_path / folder), options=FAST)
        torch.testing.assert_close(loaded.decode(latents), DCGAN.reference(online, latents), rtol=0, atol=1e-6)


def test_a_hub_repo_of_an_accelerate_checkpoint_takes_the_registered_moving_average(hub, tmp_path, monkeypatch):
    """The same as a Hub repo, online and then offline: the registered state is fetched because it stands beside the
    chosen weights; offline, the choice made online is repeated."""
    online, average = DCGAN.build(seed=1), DCGAN.build(seed=2)
    latents = zoo.latents_for(DCGAN, 3)
    folder = tmp_path / "checkpoint_5"
    _accelerate_checkpoint(folder, online, average)
    hub.repos.commit("me/accel", {f"checkpoint_5/{p.name}": p for p in folder.iterdir()})
    with pytest.warns(UserWarning, match=AVERAGE_TAKEN):
        loaded = load_generator("hub:me/accel", options=FAST)
    torch.testing.assert_close(loaded.decode(latents), DCGAN.reference(average, latents), rtol=0, atol=1e-6)
    assert loaded.meta["hub"]["file"] == "checkpoint_5/custom_checkpoint_0.pkl"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = load_generator("hub:me/accel", options=FAST)
    torch.testing.assert_close(offline.decode(latents), DCGAN.reference(average, latents), rtol=0, atol=1e-6)


@pytest.mark.parametrize("status", [429, 500])
def test_a_busy_hub_listing_is_named_with_its_answer_and_retry_later(hub, tmp_path, monkeypatch, status):
    """A 500 or 429 on the repo's listing, with nothing cached, was "the Hub could not be reached (HTTP 500); download
    it once online", what the user was doing (an outside audit, 49a)."""
    import time

    import hub_server

    route = hub_server.Handler._route

    def busy(self, head):
        if "/api/models/someone/busy" in self.path:
            headers = {"Content-Type": "application/json", "X-Error-Message": "Internal Error", "Retry-After": "0"}
            return self._send(status, headers, b"{}", head)
        return route(self, head)

    monkeypatch.setattr(hub_server.Handler, "_route", busy)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    hub.repos.commit("someone/busy", {"netG.pth": state_bytes(DCGAN.build().state_dict(), tmp_path / "w")})
    with pytest.raises(SourceError) as busy_hub:
        load_generator("hub:someone/busy", options=FAST)
    message = str(busy_hub.value)
    assert f"the Hub answered HTTP {status} (Internal Error); retry later" in message, message
    assert "could not be reached" not in message and "once online" not in message


def test_a_gated_listing_with_a_token_says_the_token_has_no_access(hub, tmp_path, monkeypatch):
    """A gated repo was "accept its terms on the Hub and log in", also with HF_TOKEN set, and not in the Hub's words
    (an outside audit, 49a)."""
    import hub_server

    said = "Access to model someone/gated is restricted and you are not in the authorized list."
    route = hub_server.Handler._route

    def gated(self, head):
        if "/api/models/someone/gated" in self.path:
            headers = {"Content-Type": "application/json", "X-Error-Message": said, "X-Error-Code": "GatedRepo"}
            return self._send(401, headers, b"{}", head)
        return route(self, head)

    monkeypatch.setattr(hub_server.Handler, "_route", gated)
    hub.repos.commit("someone/gated", {"netG.pth": state_bytes(DCGAN.build().state_dict(), tmp_path / "w")})
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)
    with pytest.raises(SourceError) as refused:
        load_generator("hub:someone/gated", options=FAST)
    assert said in str(refused.value) and "has no access to it" in str(refused.value), str(refused.value)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))  # no stored token either
    with pytest.raises(SourceError, match="accept its terms on the Hub and log in"):
        load_generator("hub:someone/gated", options=FAST)


def test_the_hub_clients_own_log_lines_stay_quiet_on_the_command_line():
    """The command line set the client's logger to ERROR before the client was imported, whose import set it back to
    WARNING: its retry lines came before ganinv's one Error line again (an outside audit, 49a). A fresh process: in
    this one the client is imported already."""
    import subprocess
    import sys

    code = (
        "import logging; from ganinv.cli.main import show_library_log; show_library_log(); "
        "import huggingface_hub.file_download; print(logging.getLogger('huggingface_hub').getEffectiveLevel())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and int(done.stdout.strip()) >= 40, (done.stdout, done.stderr)


def test_a_file_name_the_client_refuses_is_not_a_connection_problem(hub, tmp_path):
    """An outside audit (53a): a repo file named `../../x.safetensors` was refused by the client (rightly, nothing
    was written outside the cache) and said as "check the connection and retry"."""
    save_file(DCGAN.build().state_dict(), str(tmp_path / "w.safetensors"))
    hub.repos.commit("evil/traversal", {"sub/../../trav.safetensors": (tmp_path / "w.safetensors").read_bytes()})
    with pytest.raises(SourceError, match=r"the Hugging Face client refuses the repo's file name") as refused:
        load_generator("hub:evil/traversal", options=FAST)
    assert "connection" not in str(refused.value)


def test_file_names_that_print_alike_are_shown_escaped_in_the_choice():
    """An outside audit (53a): `model.safetensors` beside `mоdel.safetensors` (a Cyrillic о, a pickle) printed as two
    identical names, so that copying "the other" one gave the other file."""
    files = ["model.safetensors", "m\u043edel.safetensors"]
    with pytest.warns(UserWarning, match=r"\(model\.safetensors, 'm\\u043edel\.safetensors'\); using model\.s"):
        assert repo_files.pick_weights(files, "hub:me/lookalike")[0] == "model.safetensors"


def test_an_invalid_token_is_named_as_the_token_not_the_repo(hub, tmp_path, monkeypatch):
    """An expired HF_TOKEN on a public repo (HTTP 401, "Invalid credentials", no error code) was "if it is private or
    gated, log in" (an outside audit, 55c): the user's environment is at fault, not the repo."""
    import hub_server

    route = hub_server.Handler._route

    def expired(self, head):
        if "/api/models/" in self.path and self.headers.get("authorization"):
            headers = {"Content-Type": "application/json", "X-Error-Message": "Invalid credentials in Authorization"}
            return self._send(401, headers, b"{}", head)
        return route(self, head)

    monkeypatch.setattr(hub_server.Handler, "_route", expired)
    hub.repos.commit("someone/public", {"netG.pth": state_bytes(DCGAN.build().state_dict(), tmp_path / "w")})
    monkeypatch.setenv("HF_TOKEN", "hf_" + "y" * 34)
    with pytest.raises(SourceError, match=r"the token in use \(HF_TOKEN .*\) is not valid.*unset HF_TOKEN"):
        load_generator("hub:someone/public", options=FAST)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))
    load_generator("hub:someone/public", options=FAST)


def test_a_hub_file_whose_name_holds_a_hash_is_that_file(hub, tmp_path):
    """`hub:owner/name:run#2/netG.pth` was "no file 'run'", in a message listing run#2/netG.pth (audit 55c); as for a
    local path, the `#` that leaves a listed file splits off the entry."""
    first, second = DCGAN.build(seed=1), DCGAN.build(seed=2)
    blob = state_bytes({"netG": second.state_dict()}, tmp_path / "b")
    hub.repos.commit(
        "someone/hash", {"run#2/netG.pth": state_bytes(first.state_dict(), tmp_path / "a"), "c#1.pt": blob}
    )
    latents = zoo.latents_for(DCGAN, 4)
    same_images(load_generator("hub:someone/hash:run#2/netG.pth", options=FAST), first, DCGAN, latents)
    same_images(load_generator("hub:someone/hash:c#1.pt#netG", options=FAST), second, DCGAN, latents)


def test_a_repo_of_a_program_alone_or_of_nothing_is_said_so(hub, tmp_path):
    """A repo holding only generator.pt2 was told to name its "torch.save file"; an empty one "holds nothing; if one
    of them is ..." (audit 55c)."""
    hub.repos.commit("someone/program", {"generator.pt2": b"PK not read", "README.md": b"#"})
    with pytest.raises(
        SourceError,
        match=r"generator\.pt2 is a program \(code\).*hub:someone/program:generator\.pt2 "
        r"with --trust-remote-code",
    ):
        load_generator("hub:someone/program", options=FAST)
    hub.repos.commit("someone/empty", {})
    with pytest.raises(SourceError, match=r"hub:someone/empty holds no files at this revision"):
        load_generator("hub:someone/empty", options=FAST)
