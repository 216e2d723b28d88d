"""`hub:owner/name[@rev]` through the real huggingface_hub client, offline, on a cache made in a temp folder."""

from pathlib import Path

import pytest
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

import zoo
from ganinv.errors import SourceError
from ganinv.sources import load_generator, save_generator

SHA = zoo.HUB_SHA
CASE = zoo.case("pytorch-examples-dcgan")


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
    (tmp_path / "spec.json").write_text('{"native_prior": "uniform"}')
    zoo.cache_repo(hub_cache, "someone/uniform", {"config.json": folder / "config.json",
                                              "model.safetensors": folder / "model.safetensors",
                                              "spec.json": tmp_path / "spec.json"})
    assert load_generator("hub:someone/uniform").spec.native_prior == "uniform"


def test_not_cached_while_offline_is_one_clear_line(hub_cache, tmp_path):
    with pytest.raises(SourceError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE is set") as info:
        load_generator("hub:nobody/nothing")
    assert "\n" not in str(info.value)
    zoo.cache_repo(hub_cache, "someone/config-only", {"config.json": _write(tmp_path / "c.json", "{}")})
    with pytest.raises(SourceError, match="neither model.safetensors nor pytorch_model.bin"):
        load_generator("hub:someone/config-only")
    with pytest.raises(SourceError, match="not in the local Hugging Face cache"):
        load_generator(f"hub:someone/config-only@{'f' * 40}")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
