"""A table model's bundle: parity with PyTorch, quantised graph, checksums, and bad bundles refused clearly."""

import json
import shutil

import numpy as np
import pytest

from tests.unit.runtime.tiny_bundles import table_bundle
from transferkit.artifacts import load_model
from transferkit.errors import ArtifactError, ConfigError
from transferkit.runtime import load_bundle


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return table_bundle(tmp_path_factory.mktemp("table"), quantize="int8")


def test_the_bundle_predicts_as_the_pytorch_model(table):
    folder, bundle_dir, rows = table
    manifest = json.loads((bundle_dir / "bundle.json").read_text())
    assert manifest["parity"]["inputs"] == 8 and manifest["parity"]["max_abs_diff"] <= 1e-4  # the kept examples
    assert {"model.onnx", "model.int8.onnx", "README.md"} - set(manifest["files"]) == {"README.md"}  # no card saved
    expected = load_model(folder).predict_proba(rows[:60])
    fp32 = load_bundle(bundle_dir, precision="fp32")
    np.testing.assert_allclose(fp32.predict_proba(rows[:60]), expected, atol=1e-4)
    assert [p["label"] for p in fp32.predict(rows[:60])] == [["malignant", "benign"][i] for i in expected.argmax(1)]
    int8 = load_bundle(bundle_dir)  # the quantised graph is the default
    assert int8.precision == "int8" and manifest["quantised"]["vs_fp32"]["inputs"] == 8
    assert np.abs(int8.predict_proba(rows[:60]) - expected).max() < 0.05


@pytest.mark.parametrize("damage", ["missing", "altered", "manifest"])
def test_a_damaged_bundle_is_refused_with_the_file_named(table, tmp_path, damage):
    copy = shutil.copytree(table[1], tmp_path / "bundle")
    if damage == "missing":
        (copy / "model.onnx").unlink()
    elif damage == "altered":
        with open(copy / "model.onnx", "ab") as handle:
            handle.write(b"\0")
    else:
        (copy / "bundle.json").write_text("{not json")
    expected = {"missing": "model.onnx is missing", "altered": "model.onnx does not match", "manifest": "bundle.json"}
    with pytest.raises(ArtifactError, match=expected[damage]):
        load_bundle(copy)


def test_a_folder_that_is_not_a_bundle_and_an_unknown_precision(table, tmp_path):
    with pytest.raises(ArtifactError, match="not a transferkit bundle"):
        load_bundle(tmp_path)
    with pytest.raises(ConfigError, match="no 'fp16' graph"):
        load_bundle(table[1], precision="fp16")


def test_cli_export_checks_the_kept_examples_and_refuses_bad_options(table, tmp_path, capsys):
    from transferkit.cli import run as cli

    folder = table[0]
    assert cli(["export", str(folder), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]) == 0
    assert "on 8 input(s)" in capsys.readouterr().out  # the held-out rows fit kept, no --check needed
    assert cli(["export", str(folder), "--format", "torchscript", "--bundle", str(tmp_path / "b")]) == 2
    assert "--bundle writes an ONNX bundle" in capsys.readouterr().err
    assert cli(["export", str(folder), "--bundle", str(tmp_path / "c"), "--quantize", "int4"]) == 2
    assert "'quantize' option" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_a_folder_without_kept_examples_needs_check_inputs(tmp_path):
    from tests.unit.runtime.tiny_bundles import breast_cancer_rows, transfer_model
    from transferkit.artifacts import save_model
    from transferkit.backbones import create_backbone
    from transferkit.bundle import export_bundle

    rows, _ = breast_cancer_rows()
    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing(rows[:100])
    folder = save_model(transfer_model(backbone, ["a", "b"]), tmp_path / "model", backbone_trained=False)
    with pytest.raises(ConfigError, match="--check"):
        export_bundle(folder, tmp_path / "bundle")
    assert export_bundle(folder, tmp_path / "bundle", check_inputs=rows[100:103]).checked_inputs == 3


def test_an_error_names_the_inputs_position_across_batches(table):
    from transferkit.runtime.preprocess import InputError

    rows = list(table[2][:40])
    rows[35] = json.dumps({"not": "a trained column"})
    with pytest.raises(InputError, match="Row 35 lacks") as caught:
        load_bundle(table[1], precision="fp32").predict_proba(rows, batch_size=16)
    assert caught.value.index == 35


def test_texts_sorted_by_length_are_cut_where_padding_would_grow():
    from transferkit.runtime.bundle import length_batches

    assert length_batches(np.array([10, 11, 12, 60, 64]), batch_size=32) == [slice(0, 3), slice(3, 5)]
    assert length_batches(np.array([20] * 70), batch_size=32) == [slice(0, 32), slice(32, 64), slice(64, 70)]
    lengths = np.sort(np.random.default_rng(0).integers(20, 129, 200))
    batches = length_batches(lengths, batch_size=32)
    assert sum(b.stop - b.start for b in batches) == 200 and all(b.stop - b.start <= 32 for b in batches)
    padded = sum((b.stop - b.start) * lengths[b.stop - 1] for b in batches)
    assert padded <= 1.25 * lengths.sum()
    assert length_batches(np.array([], dtype=int), batch_size=8) == []
