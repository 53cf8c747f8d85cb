"""A model folder received from someone else is hostile until checked, and it is loaded with the network blocked.

Every test here runs with sockets refusing to connect and the hub / URL download functions failing loudly,
with empty hub caches and HF_HUB_OFFLINE unset: whatever stays offline does so because transferkit keeps it
offline, not because the environment does.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch

import transferkit.artifacts as artifacts
from transferkit.artifacts import load_model, save_model
from transferkit.backbones import bundled, create_backbone
from transferkit.backbones import model_folder as model_folder_module
from transferkit.backbones.weights_io import downloads, hub_offline
from transferkit.errors import ArtifactError, BackboneError
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel


class NetworkUsed(AssertionError):
    """Raised by every blocked network entry point; a test that sees it has found a download."""


@pytest.fixture()
def network_blocked(monkeypatch, tmp_path):
    """Sockets and download functions fail loudly; caches are empty; HF_HUB_OFFLINE is not set."""
    import huggingface_hub
    import huggingface_hub.file_download
    import transformers.utils.hub

    attempts: list[str] = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(name)
            raise NetworkUsed(f"{name} called: a received model folder tried the network")

        return blocked

    def hub_download(*args, **kwargs):  # reading the local cache is fine; asking the network is not
        if kwargs.get("local_files_only"):
            raise huggingface_hub.errors.LocalEntryNotFoundError("not in the (empty) test cache")
        return refuse("hf_hub_download")(*args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    for module in (huggingface_hub, huggingface_hub.file_download, transformers.utils.hub):
        if hasattr(module, "hf_hub_download"):
            monkeypatch.setattr(module, "hf_hub_download", hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse("snapshot_download"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse("torch.hub.load_state_dict_from_url"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse("torch.hub.download_url_to_file"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-torch-hub"))
    return attempts


@pytest.fixture()
def received_folder(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    """A model folder as someone would send it: a tiny BERT backbone + head, saved by transferkit."""
    backbone = create_backbone(f"hf:{tiny_bert_dir}", max_length=16)
    torch.manual_seed(0)
    head = ClassifierHead(in_features=backbone.num_features, num_classes=2)
    return save_model(TransferModel(backbone, head, ["bad", "good"]), tmp_path / "received", backbone_trained=False)


def _edit_manifest(folder: Path, edit) -> None:
    path = folder / "model.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _set_spec(folder: Path, spec: str) -> None:
    _edit_manifest(folder, lambda manifest: manifest["backbone"].update(spec=spec))


def _record_backbone_builds(monkeypatch) -> list[str]:
    built: list[str] = []
    real = artifacts.create_backbone

    def recording(spec, **options):
        built.append(spec)
        return real(spec, **options)

    monkeypatch.setattr(artifacts, "create_backbone", recording)
    return built


def test_the_untouched_folder_loads_with_the_network_blocked(received_folder, network_blocked):
    model = load_model(received_folder)
    assert model.predict_proba(["good food"]).shape == (1, 2)
    assert network_blocked == []


@pytest.mark.parametrize(
    "spec", ["hf:some-org/a-huge-model", "timm:resnet18", "torchvision:resnet18"], ids=["hf", "timm", "torchvision"]
)
def test_a_hub_backbone_is_never_downloaded_unless_asked(received_folder, network_blocked, spec):
    _set_spec(received_folder, spec)
    with pytest.raises(BackboneError, match=r"downloads are off while loading a model folder .*--allow-download"):
        load_model(received_folder)
    assert network_blocked == []


def test_allow_download_lets_the_hub_be_asked(received_folder, network_blocked):
    _set_spec(received_folder, "hf:some-org/a-huge-model")
    with pytest.raises((NetworkUsed, BackboneError)):
        load_model(received_folder, allow_download=True)
    assert network_blocked, "allow_download=True should have reached the (blocked) hub"


def test_downloads_stay_off_inside_nested_code_and_are_restored():
    assert not hub_offline() or os.environ.get("HF_HUB_OFFLINE")
    with downloads(allowed=False), downloads(allowed=True):  # nested code cannot re-open the network
        assert hub_offline()
    assert not hub_offline() or os.environ.get("HF_HUB_OFFLINE")


def _auto_map_folder(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "custom-code"
    folder.mkdir()
    for file in tiny_bert_dir.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n", encoding="utf-8")
    return folder


def test_a_folder_asking_for_its_own_code_is_refused(tiny_bert_dir, tmp_path, network_blocked, received_folder):
    folder = _auto_map_folder(tiny_bert_dir, tmp_path)
    for spec in (f"path:{folder}", f"hf:{folder}"):
        with pytest.raises(BackboneError, match="auto_map"):
            create_backbone(spec)
    _set_spec(received_folder, f"hf:{folder}")
    with pytest.raises(BackboneError, match="never runs code that comes with a model"):
        load_model(received_folder)
    assert network_blocked == []


def test_transformers_loads_are_told_not_to_trust_remote_code(tiny_bert_dir, monkeypatch):
    import transformers

    calls: list[tuple[str, object]] = []
    for cls in (transformers.AutoConfig, transformers.AutoModel, transformers.AutoTokenizer):
        real = cls.from_pretrained.__func__

        def spy(klass, *args, _real=real, _name=cls.__name__, **kwargs):
            calls.append((_name, kwargs.get("trust_remote_code", "missing")))
            return _real(klass, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    from transferkit.backbones import hf_hub

    hf_hub.read_hf_config.cache_clear()
    create_backbone(f"hf:{tiny_bert_dir}")
    assert {name for name, _ in calls} == {"AutoConfig", "AutoModel", "AutoTokenizer"}
    assert all(value is False for _, value in calls), calls


@pytest.mark.parametrize("name", ["../outside.bin", "/etc/hostname", "sub/weights.safetensors", "..", ""])
def test_file_names_that_leave_the_folder_are_refused_unhashed(received_folder, monkeypatch, name):
    hashed: list[Path] = []
    real = model_folder_module.sha256_file
    monkeypatch.setattr(model_folder_module, "sha256_file", lambda path: hashed.append(Path(path)) or real(path))
    _edit_manifest(received_folder, lambda manifest: manifest["files"].update({name: "0" * 64}))
    built = _record_backbone_builds(monkeypatch)
    with pytest.raises(ArtifactError, match="plain file names only"):
        load_model(received_folder)
    assert all(path.parent == received_folder for path in hashed) and built == []


def test_a_linked_file_is_refused(received_folder, tmp_path):
    weights = received_folder / "weights.safetensors"
    outside = tmp_path / "elsewhere.safetensors"
    weights.rename(outside)
    weights.symlink_to(outside)
    with pytest.raises(ArtifactError, match="is a link"):
        load_model(received_folder)


def test_weights_must_be_listed_and_checked(received_folder, monkeypatch):
    _edit_manifest(received_folder, lambda manifest: manifest["files"].pop("weights.safetensors"))
    built = _record_backbone_builds(monkeypatch)
    with pytest.raises(ArtifactError, match=r"does not list weights\.safetensors"):
        load_model(received_folder)
    assert built == []


def test_a_tampered_weights_file_is_refused_before_any_backbone_is_built(received_folder, monkeypatch):
    weights = received_folder / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    built = _record_backbone_builds(monkeypatch)
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_model(received_folder)
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        create_backbone(f"path:{received_folder}")
    assert built == []


def test_a_folder_naming_itself_as_backbone_is_refused(received_folder, network_blocked):
    _set_spec(received_folder, f"path:{received_folder}")
    with pytest.raises(ArtifactError, match="names itself as its backbone"):
        load_model(received_folder)
    with pytest.raises(ArtifactError, match="names itself as its backbone"):
        create_backbone(f"path:{received_folder}")


def test_a_cycle_of_two_folders_is_refused(received_folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for file in received_folder.iterdir():
        (other / file.name).write_bytes(file.read_bytes())
    _set_spec(received_folder, f"path:{other}")
    _set_spec(other, f"path:{received_folder}")
    with pytest.raises(ArtifactError, match=r"names itself as its backbone \(path:.* -> path:.* -> path:"):
        load_model(received_folder)


@pytest.mark.parametrize(
    "edit",
    [
        lambda manifest: manifest.pop("files"),
        lambda manifest: manifest.update(files=["weights.safetensors"]),
        lambda manifest: manifest.update(backbone={"spec": 3}),
        lambda manifest: manifest["backbone"].update(options="max_length=9"),
    ],
    ids=["no-files", "files-list", "spec-not-text", "options-not-map"],
)
def test_a_malformed_manifest_is_one_clear_error(received_folder, edit):
    _edit_manifest(received_folder, edit)
    with pytest.raises(ArtifactError, match="retrain or restore the model folder"):
        load_model(received_folder)


def test_loading_minilm_leaves_hf_hub_offline_as_it_was(tiny_bert_dir, monkeypatch):
    # the bundled loader, pointed at a tiny BERT folder so the test needs no real weights
    monkeypatch.setattr(bundled, "minilm_dir", lambda: tiny_bert_dir)
    monkeypatch.setattr(bundled, "MINILM_SHA256", "")
    for before in (None, "0"):
        if before is None:
            monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        else:
            monkeypatch.setenv("HF_HUB_OFFLINE", before)
        create_backbone("bundled:minilm")
        assert os.environ.get("HF_HUB_OFFLINE") == before
