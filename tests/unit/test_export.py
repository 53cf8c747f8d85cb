"""Export parity: TorchScript and ONNX probabilities equal PyTorch's on real images and real reviews."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from transferkit.errors import ArtifactError, ConfigError
from transferkit.export import export_model, input_tensors
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel


def _model(backbone, classes, *, normalize: bool = False):
    torch.manual_seed(0)
    head = ClassifierHead(in_features=backbone.num_features, num_classes=len(classes), normalize=normalize)
    return TransferModel(backbone, head, classes)


def _check_other_batch(result, model, inputs, fmt):
    """The exported graph on a batch of another size (and token length) still matches PyTorch."""
    from transferkit.export import run_exported

    tensors, names = input_tensors(model, inputs)
    with torch.inference_mode():
        expected = model(tensors[0] if len(tensors) == 1 else dict(zip(names, tensors, strict=True))).softmax(-1)
    got = run_exported(result.path, fmt, tensors, names)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_text_model_export_parity_on_real_reviews(minilm, reviews_csv, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxruntime) is not installed")
    reviews = pd.read_csv(reviews_csv).review.tolist()
    model = _model(minilm, ["great", "other"], normalize=True)  # a contrastive model's head: unit length first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = export_model(model, format=fmt, output=tmp_path / f"m.{fmt}", check_inputs=reviews[:4])
    assert not [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]  # no tracer notes for users
    assert result.parity_ok and result.max_abs_diff <= 1e-4 and result.checked_inputs == 4
    metadata = json.loads(result.metadata_path.read_text())
    assert metadata["inputs"] == ["input_ids", "attention_mask"] and metadata["class_names"] == ["great", "other"]
    assert metadata["backbone"]["weights"]["preprocessing"]["max_length"] == 64
    if fmt == "onnx":  # dynamic batch and token axes
        _check_other_batch(result, model, reviews[10:13], fmt)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_image_model_export_parity_on_real_digits(effnet, digits_folder, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxruntime) is not installed")
    images = [str(p) for p in sorted(digits_folder.glob("*/*.png"))[::12]]
    model = _model(effnet, ["digit0", "digit1", "digit7"])
    result = export_model(model, format=fmt, output=tmp_path / f"m.{fmt}", check_inputs=images[:3])
    assert result.parity_ok
    _check_other_batch(result, model, images[3:5], fmt)


def test_export_refuses_unknown_formats_and_missing_check_inputs(tmp_path):
    with pytest.raises(ConfigError, match="'format' option"):
        export_model(tmp_path, format="tflite", check_inputs=["x"])
    with pytest.raises(ConfigError, match="parity check"):
        export_model(tmp_path, format="onnx", check_inputs=[])


@pytest.mark.slow
def test_cli_export_prints_the_parity_result(effnet, digits_folder, tmp_path, capsys):
    pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxruntime) is not installed")
    from transferkit.artifacts import save_model
    from transferkit.cli import run as cli

    folder = save_model(_model(effnet, ["digit0", "digit1", "digit7"]), tmp_path / "model", backbone_trained=False)
    code = cli(["export", str(folder), "--format", "onnx", "--check", str(digits_folder / "digit7"), "--limit", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "max abs difference" in printed and (folder / "model.onnx").is_file()


@pytest.mark.slow
def test_predict_limit_predicts_only_the_first_inputs(effnet, digits_folder, tmp_path):
    from transferkit import predict
    from transferkit.artifacts import save_model

    folder = save_model(_model(effnet, ["digit0", "digit1", "digit7"]), tmp_path / "model", backbone_trained=False)
    every = predict(folder, [digits_folder / "digit7"])
    first = predict(folder, [digits_folder / "digit7"], limit=2)
    assert len(every) > 2 and first["input"].tolist() == every["input"].tolist()[:2]
    np.testing.assert_allclose(
        first.filter(like="prob_").to_numpy(), every.filter(like="prob_").to_numpy()[:2], atol=1e-6
    )


def test_a_rejected_export_is_deleted_and_the_previous_one_kept(minilm, tmp_path):
    """Parity failure: the new file never takes the export's name (predict --runtime onnx cannot pick it up)."""
    model = _model(minilm, ["great", "other"])
    target = tmp_path / "model.pt"
    first = export_model(model, format="torchscript", output=target, check_inputs=["Tasty tea."])
    before = target.read_bytes()
    with pytest.raises(ArtifactError, match="it was not written"):
        export_model(model, format="torchscript", output=target, check_inputs=["Tasty tea."], tolerance=-1.0)
    assert target.read_bytes() == before and first.metadata_path.is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt", "model.pt.json"]  # no temporary left
    fresh = tmp_path / "fresh.pt"
    with pytest.raises(ArtifactError):
        export_model(model, format="torchscript", output=fresh, check_inputs=["Tasty tea."], tolerance=-1.0)
    assert not fresh.exists()
