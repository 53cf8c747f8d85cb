"""report.html is self-contained and complete; report.md carries the same tables."""

import json
import re

import numpy as np
import pytest

from transferkit.data.dataset import LabeledData
from transferkit.evaluation import classification_metrics, transfer_gain, worst_examples, write_report


@pytest.fixture(scope="module")
def run_metrics():
    rng = np.random.default_rng(0)
    names = ["great", "other"]
    y = rng.integers(0, 2, 60)
    proba = np.clip(np.eye(2)[y] * 0.7 + rng.uniform(0, 1.2, (60, 2)), 0, None)
    proba /= proba.sum(1, keepdims=True)
    labels = [names[i] for i in y]
    better = np.eye(2)[y]
    return (
        labels,
        proba,
        names,
        {
            "data": {
                "class_counts": {"great": 30, "other": 30},
                "imbalance_ratio": 1.0,
                "splits": {"train": {"great": 20, "other": 20}, "test": {"great": 10, "other": 10}},
            },
            "test": classification_metrics(labels, proba, names),
            "backbone": {"spec": "bundled:minilm"},
            "strategy": {"name": "probe"},
            "history": [
                {"epoch": e, "train_loss": 1 / (e + 1), "val_loss": 1.2 / (e + 1), "val_accuracy": 0.5 + e / 20}
                for e in range(5)
            ],
            "baselines": {
                "split": "test",
                "examples": 60,
                "classic": {
                    "description": "TF-IDF + logistic regression",
                    "metrics": classification_metrics(labels, better, names),
                    "gain": transfer_gain(labels, proba, better, names),
                },
            },
            "seconds": {"total": 3.2},
        },
    )


def test_report_html_is_self_contained_and_has_every_section(tmp_path, run_metrics):
    labels, proba, names, metrics = run_metrics
    texts = [f"review {i} <script>alert(1)</script> " + "word " * 80 for i in range(60)]
    data = LabeledData(modality="text", inputs=texts, labels=labels, source="mem")
    examples = worst_examples(data, proba, names, count=5)
    assert [e.confidence for e in examples] == sorted((e.confidence for e in examples), reverse=True)
    assert all(e.true != e.predicted for e in examples)
    html_path, md_path = write_report(
        tmp_path, metrics=metrics, config_yaml="data:\n  path: x.csv\n", examples=examples
    )
    page = html_path.read_text()
    for title in (
        "Run summary",
        "Data",
        "Metrics",
        "Training curves",
        "Confusion matrix",
        "Calibration",
        "Most confident mistakes",
        "Transfer gain",
        "Config",
    ):
        assert f"<h2>{title}" in page
    assert "NEGATIVE TRANSFER" in page  # the baseline is perfect, the transfer model is not
    assert "<script>" not in page and "&lt;script&gt;" in page  # user text is escaped, and there is no script
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing loads from the network
    assert page.count("data:image/png;base64,") >= 3  # curves, confusion matrix, reliability diagram
    markdown = md_path.read_text()
    assert "| accuracy |" in markdown and "## Transfer gain" in markdown and "```yaml" in markdown


def test_image_reports_embed_thumbnails_and_include_a_learning_curve(tmp_path, run_metrics, digits_folder):
    labels, proba, names, metrics = run_metrics
    paths = sorted(str(p) for p in digits_folder.glob("*/*.png"))[:60]
    data = LabeledData(modality="image", inputs=paths, labels=labels, source="mem")
    rows = [
        {"method": m, "per_class": k, "accuracy_mean": 0.5 + k / 100, "accuracy_std": 0.01, "repeats": 2}
        for m in ("probe", "classic")
        for k in (4, 8)
    ]
    (tmp_path / "curve.json").write_text(json.dumps({"rows": rows}))
    html_path, _ = write_report(
        tmp_path,
        metrics=metrics,
        config_yaml="{}\n",
        modality="image",
        examples=worst_examples(data, proba, names, count=3),
    )
    page = html_path.read_text()
    assert page.count('class="thumb"') == 3
    assert "<h2>Learning curve" in page


def many_class_metrics(num_classes: int, rows_per_class: int = 2, seed: int = 0) -> dict:
    """Test metrics of a run with `num_classes` classes, mostly right, some confused."""
    rng = np.random.default_rng(seed)
    names = [f"class-{i:05d}" for i in range(num_classes)]
    y = np.repeat(np.arange(num_classes), rows_per_class)
    predicted = np.where(rng.uniform(size=len(y)) < 0.8, y, rng.integers(0, num_classes, len(y)))
    proba = np.full((len(y), num_classes), 0.1 / num_classes, dtype=np.float32)
    proba[np.arange(len(y)), predicted] += 0.9
    return classification_metrics([names[i] for i in y], proba, names, bootstrap=False)


def test_thousands_of_classes_give_a_readable_report_not_a_crash(tmp_path):
    # Above ~1,300 classes the whole-matrix figure passed matplotlib's 2^16-pixel limit after training.
    test = many_class_metrics(1_500)
    confusion = test["confusion_matrix"]
    assert len(confusion["labels"]) == 30 and confusion["classes_total"] == 1_500
    assert len(test["per_class"]) == 1_500  # every class's scores stay in metrics.json
    html_path, md_path = write_report(tmp_path, metrics={"test": test, "backbone": {"spec": "x"}}, config_yaml="")
    page = html_path.read_text()
    assert "The matrix shows the 30 most confused of 1500 classes." in page
    assert "Per-class scores of the 50 classes with the lowest F1 of 1500." in page
    assert page.count("<tr>") < 200 and len(page) < 500_000
    assert "most confused of 1500 classes" in md_path.read_text()


def test_an_old_metrics_file_with_a_whole_large_matrix_skips_the_figure_with_a_note(tmp_path):
    names = [f"c{i}" for i in range(70)]
    test = {"confusion_matrix": {"labels": names, "matrix": np.eye(70, dtype=int).tolist()}, "per_class": {}}
    html_path, _ = write_report(tmp_path, metrics={"test": test, "backbone": {"spec": "x"}}, config_yaml="")
    assert "70 classes are too many to draw or tabulate a confusion matrix for." in html_path.read_text()
