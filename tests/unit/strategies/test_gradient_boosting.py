"""Gradient-boosted trees on tables: strategy auto's classic candidate, saved as allow-listed skops (never pickle).

Real data: scikit-learn's breast_cancer table (569 tumours, 30 measurements). The saved trees round-trip bit for
bit through a model folder; a changed byte, a file naming a type outside the allow-list (with a matching
checksum) and a file holding another estimator are refused with an ArtifactError; export refuses trees in one
line; auto keeps the probe where the trees lose on cross-validation (here: logistic regression wins).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from transferkit.artifacts import load_model, save_model
from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import ArtifactError
from transferkit.export import export_model
from transferkit.models.boosting import BoostingModel, fit_boosting
from transferkit.models.boosting_io import TREES
from transferkit.strategies.auto import AutoStrategy

skops_io = pytest.importorskip("skops.io")


@pytest.fixture(scope="module")
def cancer() -> LabeledData:
    frame = load_breast_cancer(as_frame=True)
    order = np.random.default_rng(0).permutation(len(frame.data))[:240]
    rows = [json.dumps({k: str(v) for k, v in row.items()}) for row in frame.data.iloc[order].to_dict("records")]
    # one categorical column, so the saved trees carry category splits too
    rows = [json.dumps(json.loads(r) | {"site": "ab"[i % 2]}) for i, r in enumerate(rows)]
    labels = ["benign" if t else "malignant" for t in frame.target.iloc[order]]
    return LabeledData(inputs=rows, labels=labels, modality="tabular", source="breast_cancer")


@pytest.fixture(scope="module")
def saved(cancer, tmp_path_factory) -> tuple[BoostingModel, Path]:
    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing(cancer.inputs[:160])
    model = fit_boosting(cancer.inputs[:160], cancer.labels[:160], seed=0, backbone=backbone)
    folder = save_model(model, tmp_path_factory.mktemp("trees") / "model", backbone_trained=False)
    return model, folder


def _rewrite_trees(folder: Path, data: bytes) -> None:
    """Replace the trees file and give model.json its new checksum: a hostile folder, consistent with itself."""
    (folder / TREES).write_bytes(data)
    manifest = json.loads((folder / "model.json").read_text())
    manifest["files"][TREES] = hashlib.sha256(data).hexdigest()
    (folder / "model.json").write_text(json.dumps(manifest))


def test_saved_trees_round_trip_bit_exactly(saved, cancer):
    model, folder = saved
    held_out = cancer.inputs[160:]
    loaded = load_model(folder)
    assert isinstance(loaded, BoostingModel) and loaded.categorical == ["site"]
    assert np.array_equal(loaded.predict_proba(held_out), model.predict_proba(held_out))  # bit for bit
    accuracy = (np.array(loaded.class_names)[loaded.predict_proba(held_out).argmax(1)] == cancer.labels[160:]).mean()
    assert accuracy > 0.85  # majority class is ~0.63
    assert not any(
        name.endswith((".pkl", ".pickle", ".joblib"))
        for name in json.loads((folder / "model.json").read_text())["files"]
    )


def test_a_changed_byte_is_refused(saved, tmp_path):
    _, folder = saved
    copy = tmp_path / "model"
    copy.mkdir()
    for file in folder.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    data = bytearray((copy / TREES).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / TREES).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(copy)


def _copy(folder: Path, into: Path) -> Path:
    into.mkdir()
    for file in folder.iterdir():
        (into / file.name).write_bytes(file.read_bytes())
    return into


def test_a_type_outside_the_allow_list_is_refused_with_a_matching_checksum(saved, tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    folder = _copy(saved[1], tmp_path / "model")
    _rewrite_trees(folder, skops_io.dumps(FunctionTransformer(func=eval)))  # would name builtins.eval
    with pytest.raises(ArtifactError, match=r"allow-list.*builtins\.eval"):
        load_model(folder)


def test_another_estimator_is_refused(saved, tmp_path):
    from sklearn.linear_model import LogisticRegression

    folder = _copy(saved[1], tmp_path / "model")
    _rewrite_trees(folder, skops_io.dumps(LogisticRegression()))  # trusted by skops, but not trees
    with pytest.raises(ArtifactError, match="not gradient-boosted trees"):
        load_model(folder)


def test_export_refuses_trees_in_one_line(saved, cancer):
    with pytest.raises(ArtifactError, match="does not export to ONNX") as caught:
        export_model(saved[1], format="onnx", check_inputs=cancer.inputs[160:162])
    assert "\n" not in str(caught.value)


def test_auto_keeps_the_probe_where_the_trees_lose(cancer, tmp_path):
    # 160 rows: ~60 malignant, the policy's medium bucket, where the recorded prior for tables is the probe (at more
    # than 64 a class, the large bucket, the trees lead the prior: benchmarks/results/default_policy.json)
    cancer = cancer.subset(list(range(160)))
    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing(cancer.inputs)
    embeddings = backbone.load_batch(cancer.inputs).numpy()
    # a 6-second budget: the cheap candidates get one round of 3 folds (more rounds only while they cost little)
    options = {"data": {"path": "cancer.csv"}, "backbone": {"spec": "tabular:columns"}, "run": {"budget_minutes": 0.1}}
    spec = RunSpec.model_validate(options)
    selection = AutoStrategy().select(
        backbone=backbone, train=cancer, embeddings=embeddings, spec=spec, run_dir=tmp_path
    )
    assert set(selection["scores"]) == {"probe", "classic"}  # the trees are scored on tables now
    assert "concat" in selection["skipped"] and "classic" not in selection["skipped"]
    # logistic regression on the scaled columns beats the trees on these tumours (measured 0.96 vs 0.95 at 400 rows)
    assert selection["scores"]["probe"]["mean"] > selection["scores"]["classic"]["mean"]
    assert selection["prior_choice"] == "probe" and selection["chosen"] == "probe"


def test_the_trees_take_balanced_class_weights_and_refuse_other_imbalance_options(cancer):
    from transferkit.strategies.auto import tree_options

    assert tree_options(RunSpec.from_dict({})) == ({}, None)
    options, refused = tree_options(RunSpec.from_dict({"imbalance": {"class_weight": "balanced"}}))
    assert options == {"class_weight": "balanced"} and refused is None
    _, refused = tree_options(RunSpec.from_dict({"imbalance": {"resample": "smote", "loss": "focal"}}))
    assert "--loss focal" in refused and "--resample smote" in refused
    model = fit_boosting(cancer.inputs[:80], cancer.labels[:80], seed=0, params=options | {"max_iter": 5})
    assert model.estimator.class_weight == "balanced" and model.params["class_weight"] == "balanced"
