import json

import numpy as np
import pytest
import torch

from transferkit.artifacts import load_model, save_model
from transferkit.errors import ArtifactError
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel


@pytest.fixture()
def trained_text_model(minilm):
    torch.manual_seed(0)
    head = ClassifierHead(in_features=minilm.num_features, num_classes=3)
    head.standardize.fit(torch.randn(20, minilm.num_features))
    torch.nn.init.normal_(head.layers[1].weight)
    return TransferModel(minilm, head, ["bad", "good", "neutral"])


TEXTS = ["Stale crackers, would not buy again.", "Best tea I have had in years!", "It arrived on Tuesday."]


def test_save_load_predict_is_bit_exact(trained_text_model, tmp_path):
    folder = save_model(trained_text_model, tmp_path / "model", backbone_trained=False)
    loaded = load_model(folder)
    assert loaded.class_names == ["bad", "good", "neutral"]
    np.testing.assert_array_equal(trained_text_model.predict_proba(TEXTS), loaded.predict_proba(TEXTS))
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest["backbone"]["spec"] == "bundled:minilm"
    assert manifest["backbone"]["options"] == {"max_length": 64}
    assert manifest["backbone"]["weights"]["preprocessing"]["pooling"] == "mean"


def test_tampered_or_missing_weights_are_refused(trained_text_model, tmp_path):
    folder = save_model(trained_text_model, tmp_path / "model", backbone_trained=False)
    weights = folder / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_model(folder)
    weights.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_model(folder)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ArtifactError, match="not a transferkit model folder"):
        load_model(tmp_path)


def test_failed_save_leaves_no_folder(trained_text_model, tmp_path, monkeypatch):
    import transferkit.artifacts as artifacts

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(artifacts, "save_file", crash)
    with pytest.raises(RuntimeError):
        save_model(trained_text_model, tmp_path / "model", backbone_trained=False)
    assert list(tmp_path.iterdir()) == []


def test_overwriting_keeps_a_loadable_folder(trained_text_model, tmp_path):
    folder = save_model(trained_text_model, tmp_path / "model", backbone_trained=False)
    save_model(trained_text_model, folder, backbone_trained=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    load_model(folder)


def test_a_model_save_killed_mid_swap_leaves_the_previous_model_loadable(trained_text_model, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    folder = save_model(trained_text_model, tmp_path / "model", backbone_trained=False, metadata={"run": "old"})
    real_replace = os.replace

    def killed_on_the_second_rename(source, destination):
        if ".partial-" in Path(source).name:
            raise KeyboardInterrupt  # like a kill between moving the old folder aside and the new one in
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", killed_on_the_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_model(trained_text_model, folder, backbone_trained=False, metadata={"run": "new"})
    monkeypatch.undo()
    assert json.loads((folder / "model.json").read_text())["metadata"] == {"run": "old"}
    load_model(folder)
    os.replace(folder, tmp_path / ".model.previous")  # the state a real kill there leaves on disk
    assert load_model(folder).class_names == trained_text_model.class_names
