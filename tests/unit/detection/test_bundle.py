"""A detector's torch-free bundle: the runtime's boxes equal PyTorch's after NMS on real scene photos, the CLI
writes it only with check images, a damaged bundle is refused, and `serve`'s app answers boxes from it.

A tiny FCOS over MobileNetV2 with random weights is enough for the plumbing (its boxes are arbitrary but real:
every one must have its twin); tests/integration/test_detection.py checks a trained detector without torch."""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
import pytest
import torch

from transferkit.detection.bundle import export_detection_bundle
from transferkit.detection.detectors import DetectorConfig, build_detector
from transferkit.detection.model_io import load_detection_model, save_detection_model
from transferkit.detection.training import detect
from transferkit.errors import ArtifactError, ConfigError
from transferkit.runtime import load_bundle

pytestmark = pytest.mark.slow  # an ONNX export of a detector: seconds, not the inner loop


@pytest.fixture(scope="module")
def detector(tmp_path_factory, scenes):
    torch.manual_seed(0)
    config = DetectorConfig("fcos", "bundled:mobilenet_v2", 2, min_size=96, max_size=96, detections_per_image=20)
    root = tmp_path_factory.mktemp("detector")
    folder = save_detection_model(
        build_detector(config, pretrained=False), root / "model", classes=["bird", "fruit"], config=config, metadata={}
    )
    images = sorted((scenes / "test").rglob("*.jpg"))[:2]
    return folder, export_detection_bundle(folder, root / "bundle", check_inputs=images), images


def test_the_runtime_finds_the_boxes_pytorch_finds(detector):
    folder, exported, images = detector
    manifest = json.loads((exported.path / "bundle.json").read_text())
    assert manifest["task"]["name"] == "detection" and manifest["task"]["state"]["class_names"] == ["bird", "fruit"]
    assert manifest["parity"]["images"] == 2 and set(manifest["files"]) == {"model.onnx"}
    bundle = load_bundle(exported.path)
    expected = detect(load_detection_model(folder).model, images)
    found = bundle.detections(images)
    assert exported.boxes_compared > 10
    for want, got in zip(expected, found, strict=True):
        assert len(got["boxes"]) == len(want["boxes"])  # 20 each: the cap per image
        clear = want["scores"] > want["scores"].min() + 1e-3  # a tie at the cap may fall either way
        for box, label in zip(want["boxes"][clear], want["labels"][clear], strict=True):
            twin = got["labels"] == label
            assert np.abs(got["boxes"][twin] - box).max(axis=1).min() < 0.05
    answer = bundle.predict(images[:1], score_threshold=0.2)[0]["boxes"]
    assert all(box["score"] >= 0.2 and box["class"] in ("bird", "fruit") for box in answer)
    with pytest.raises(ConfigError, match="outside"):
        bundle.predict(images[:1], score_threshold=0.01)  # under the graph's own 0.05: those boxes are gone


def test_the_cli_refuses_bad_options_and_a_damaged_bundle_is_refused(detector, tmp_path, capsys):
    from transferkit.cli import run

    folder, exported, images = detector
    assert run(["export", str(folder), "--bundle", str(tmp_path / "b")]) == 2  # the e2e test writes one by the CLI
    assert "--check" in capsys.readouterr().err and not (tmp_path / "b").exists()
    (tmp_path / "taken").mkdir()
    assert run(["export", str(folder), "--bundle", str(tmp_path / "taken"), "--check", str(images[0])]) == 2
    assert "is not a bundle" in capsys.readouterr().err
    assert (
        run(["export", str(folder), "--bundle", str(tmp_path / "q"), "--check", str(images[0]), "--quantize", "int8"])
        == 2
    )
    assert "--quantize int8 is for classification" in capsys.readouterr().err and not (tmp_path / "q").exists()
    copy = shutil.copytree(exported.path, tmp_path / "damaged")
    with open(copy / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match=r"model\.onnx does not match"):
        load_bundle(copy)


def test_serve_answers_boxes(detector):
    from fastapi.testclient import TestClient

    from transferkit.serving.app import create_app

    bundle = load_bundle(detector[1].path)
    images = detector[2]
    with TestClient(create_app(bundle)) as client:
        body = {"images": [base64.b64encode(path.read_bytes()).decode() for path in images]}
        answer = client.post("/predict", json=body)
        assert answer.status_code == 200
        assert answer.json()["predictions"] == json.loads(json.dumps(bundle.predict(images)))
        assert client.get("/metadata").json()["outputs"] == ["bird", "fruit"]
        broken = client.post("/predict", json={"images": [base64.b64encode(b"not an image").decode()]})
        assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body", "images", 0]


def test_serve_asks_for_a_bundle_of_a_detection_model_folder(detector):
    from transferkit.serving.server import bundle_folder

    with pytest.raises(ConfigError, match="export its bundle first"), bundle_folder(detector[0]):
        pass
