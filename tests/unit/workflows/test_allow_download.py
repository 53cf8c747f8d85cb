"""--allow-download reaches `load_model` from every command that loads a model folder; it is off by default.

What a received folder may do with it (and without it, with the network blocked) is tested in
tests/unit/backbones/test_hostile_model_folders.py; here only that the commands pass the choice on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import transferkit.export as export_module
import transferkit.workflows.batch_predict as batch_predict_module
import transferkit.workflows.predict as predict_module
from transferkit.artifacts import load_model, save_model
from transferkit.backbones import create_backbone
from transferkit.cli import run
from transferkit.data.feature_tables import row_json
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing([row_json({"x": str(i), "y": str(i % 3)}, ["x", "y"]) for i in range(12)])
    head = ClassifierHead(in_features=backbone.num_features, num_classes=2)
    model = TransferModel(backbone, head, ["a", "b"])
    return save_model(model, tmp_path_factory.mktemp("saved") / "model", backbone_trained=False)


@pytest.fixture
def loads(monkeypatch) -> list[bool]:
    """The allow_download value of every load_model call the commands make."""
    seen: list[bool] = []

    def recording(folder, *, allow_download=False):
        seen.append(allow_download)
        return load_model(folder, allow_download=allow_download)

    monkeypatch.setattr(predict_module, "load_model", recording)
    monkeypatch.setattr(batch_predict_module, "load_model", recording)  # `predict` streams model folders
    monkeypatch.setattr(export_module, "load_model", recording)
    return seen


@pytest.fixture
def rows(tmp_path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("x,y,label\n1,0,a\n2,1,b\n3,2,a\n4,0,b\n", encoding="utf-8")
    return path


def _commands(model: Path, rows: Path, out: Path) -> dict[str, list[str]]:
    return {
        "predict": ["predict", str(model), str(rows), "--output", str(out / "predictions.csv")],
        "evaluate": ["evaluate", str(model), str(rows)],
        "export": [
            "export",
            str(model),
            "--format",
            "torchscript",
            "--check",
            str(rows),
            "--output",
            str(out / "m.pt"),
        ],
    }


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_downloads_are_off_unless_the_flag_is_given(command, model_folder, rows, tmp_path, loads):
    args = _commands(model_folder, rows, tmp_path)[command]
    assert run(args) == 0
    assert loads and not any(loads)
    loads.clear()
    assert run([*args, "--allow-download"]) == 0
    assert loads and all(loads)


def test_the_python_api_takes_it_too(model_folder, rows, loads):
    predict_module.predict(model_folder, [rows])
    predict_module.evaluate(model_folder, rows, allow_download=True)
    assert loads == [False, True]
