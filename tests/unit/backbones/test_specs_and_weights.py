"""Spec parsing, the registry for prefixed specs, safe weight loading and the offline error."""

from __future__ import annotations

import pickle

import pytest
import torch

from transferkit.backbones import backbone_entry, create_backbone
from transferkit.backbones.specs import parse_spec, with_weights
from transferkit.backbones.weights_io import load_state_dict_file
from transferkit.errors import BackboneError


class _Evil:
    def __reduce__(self):
        return (print, ("this would run arbitrary code",))


def test_parse_spec_splits_source_name_and_weights():
    parsed = parse_spec("timm:resnet18@w.safetensors")
    assert (parsed.source, parsed.name, parsed.weights) == ("timm", "resnet18", "w.safetensors")
    assert parse_spec("hf:org/model").weights is None
    with pytest.raises(BackboneError, match="SOURCE:NAME"):
        parse_spec("resnet18")
    with pytest.raises(BackboneError, match="ends with '@'"):
        parse_spec("timm:resnet18@")


def test_with_weights_makes_the_file_absolute_and_rejects_bundled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert with_weights("timm:resnet18", "w.safetensors") == f"timm:resnet18@{tmp_path / 'w.safetensors'}"
    with pytest.raises(BackboneError, match="only be given"):
        with_weights("bundled:minilm", "w.safetensors")


def test_backbone_entry_answers_for_prefixed_specs():
    assert backbone_entry("timm:resnet18").modality == "image"
    assert backbone_entry("timm:convnext_tiny@/x.safetensors").offline is True
    assert backbone_entry("torchvision:anything_goes").modality == "image"
    with pytest.raises(BackboneError, match="did you mean 'bundled:minilm'"):
        backbone_entry("bundled:minilmm")


def test_pickle_needing_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"weight": _Evil()}, handle)
    with pytest.raises(BackboneError, match="Refusing to load"):
        load_state_dict_file(path)
    with pytest.raises(BackboneError, match="Refusing to load"):
        create_backbone("timm:resnet18", weights=str(path))


def test_plain_tensor_pickle_and_wrapped_checkpoint_load(tmp_path):
    path = tmp_path / "ok.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}}, path)
    state, checksum = load_state_dict_file(path)
    assert list(state) == ["w"] and len(checksum) == 64


def test_hub_weights_offline_give_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    for spec in ("timm:resnet18", "hf:some-org/not-cached"):
        with pytest.raises(BackboneError) as caught:
            create_backbone(spec)
        message = str(caught.value)
        assert f"'{spec}' must be downloaded, but HF_HUB_OFFLINE is set" in message
        assert "@weights.safetensors" in message and "path:DIR" in message and "HF_HOME" in message


def test_unknown_timm_and_torchvision_names_are_reported():
    with pytest.raises(BackboneError, match="not a timm model"):
        create_backbone("timm:resnet_does_not_exist")
    with pytest.raises(BackboneError, match="not a torchvision model"):
        create_backbone("torchvision:resnet_does_not_exist")
