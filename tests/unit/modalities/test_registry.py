"""The modality registry: built-ins, duplicates, unknown names, the 'table' alias and a plugin registered here."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from transferkit.backbones import backbone_entry
from transferkit.embedding_cache import input_hash
from transferkit.errors import ConfigError
from transferkit.modalities import Modality, available_modalities, get_modality, register_modality
from transferkit.modalities.registry import unregister_modality

SRC = Path(__file__).resolve().parents[3] / "src" / "transferkit"


def test_builtins_are_registered_with_their_default_backbones():
    assert available_modalities() == ["audio", "image", "tabular", "text"]
    for name in available_modalities():
        assert get_modality(name).name == name
        # each default is a registered backbone of its own modality
        assert backbone_entry(get_modality(name).default_backbone).modality == name


def test_a_duplicate_name_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_modality(replace(get_modality("image")))
    with pytest.raises(ValueError, match="already registered"):
        register_modality(replace(get_modality("tabular"), name="table"))  # the alias is taken too


def test_an_unknown_name_lists_the_choices_and_table_means_tabular():
    with pytest.raises(ConfigError, match="Unknown modality 'video'; choose one of audio, image, tabular, text"):
        get_modality("video")
    assert get_modality("table") is get_modality("tabular")


@pytest.fixture
def toy_modality():
    """Lines of a .lines file, one example each: a plugin written outside the package."""

    def read_inputs(paths, **_):
        return [line for path in paths for line in Path(path).read_text().splitlines()], []

    toy = Modality(
        name="toy-lines",
        default_backbone="bundled:minilm",
        load_labeled=lambda path, **_: None,
        read_inputs=read_inputs,
        item_bytes=lambda item: item.upper().encode(),
        latency_sample=lambda folder: ["a line"],
        show_html=str,
        show_text=str,
    )
    register_modality(toy)
    yield toy
    unregister_modality(toy.name)


def test_a_modality_registered_from_outside_is_found_and_used(toy_modality, tmp_path):
    (tmp_path / "a.lines").write_text("one\ntwo\n")
    assert get_modality("toy-lines") is toy_modality
    assert "toy-lines" in available_modalities()
    assert get_modality("toy-lines").read_inputs([tmp_path / "a.lines"]) == (["one", "two"], [])
    assert input_hash("toy-lines", "abc") == input_hash("toy-lines", "ABC")  # the plugin's item_bytes keys the cache


# Branches on a modality's name ("image", "text", ...) belong in the modality modules. These files are owned
# elsewhere and will ask the registry when they are folded in; backbones/speed.py sits below modalities.
BRANCH = re.compile(
    r"""modality\s*(==|!=)\s*["']|modality\s+(not\s+)?in\s+(\(\s*["']|[A-Z_]*MODALITIES)|["']\s*(==|!=)\s*[\w.]*modality\b"""
)
ALLOWED = {
    "backbones/speed.py": 2,
    "backbones/onnx_embedder.py": 1,  # below modalities too: which backbones export (image, text)
    "export.py": 1,
    "strategies/auto.py": 1,
    "strategies/finetune.py": 3,
    "workflows/fit.py": 4,
    "workflows/predict.py": 5,
    "evaluation/report.py": 2,
    # the bundle format (issue 25): what a model folder keeps as examples and what a bundle records is keyed by the
    # stored modality string; serving reads bundles and must not import the modality plugins (they import torch)
    "artifacts.py": 2,
    "bundle.py": 3,
    "serving/requests.py": 3,
    # the labelling loop (issue 26): zero-shot embeds label descriptions with a text encoder (text only by nature);
    # --drop-suspect audits embeddings of text and images, whose probes it cross-validates
    "labelling/zero_shot_run.py": 1,
    # audits of texts (audit, --drop-suspect) add TF-IDF models over the raw texts; --add-labels takes texts or
    # image paths (paths resolved against the labelled file's folder)
    "labelling/fit_options.py": 3,
    "labelling/audit_run.py": 1,
    "labelling/add_labels.py": 2,
}


def test_branches_on_a_modality_name_stay_out_of_the_tree():
    found: dict[str, int] = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("modalities/"):
            continue
        count = sum(bool(BRANCH.search(line)) for line in path.read_text(encoding="utf-8").splitlines())
        if count:
            found[relative] = count
    over = {name: count for name, count in found.items() if count > ALLOWED.get(name, 0)}
    assert not over, f"new branches on a modality name (ask transferkit.modalities.get_modality instead): {over}"
