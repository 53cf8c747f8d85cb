"""A real run's report: fit --baseline classic on fine-food reviews through the CLI, report.html rendered in
headless Chromium (screenshot not blank, no console errors); evaluate's richer table; the learning curve."""

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from transferkit.cli import run as cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium); report not rendered"
)


@pytest.fixture(scope="module")
def reviews_run(reviews_csv, tmp_path_factory):
    output = tmp_path_factory.mktemp("runs")
    columns = ["--text-column", "review", "--label-column", "score", "--split-column", "split", "--max-length", "64"]
    fit = [
        "fit",
        str(reviews_csv),
        *columns,
        "--baseline",
        "classic",
        "--strategy",
        "probe",
        "--select",
        "--output-dir",
        str(output),
    ]
    assert cli([*fit, "--name", "reviews"]) == 0
    run_dir = output / "reviews"
    assert "Most confident mistakes" in (run_dir / "report.html").read_text()
    assert "Learning curve" not in (run_dir / "report.html").read_text()
    curve = ["curve", str(reviews_csv), *columns, "--shots", "4,all", "--repeats", "1", "--output-dir", str(run_dir)]
    assert cli(curve) == 0
    return run_dir


def render(page, tmp_path) -> tuple[np.ndarray, list[str]]:
    """Screenshot of `page` in headless Chromium and the console lines it logged."""
    shot = tmp_path / f"{page.stem}.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        "--enable-logging=stderr",
        "--v=0",
    ]
    done = subprocess.run([CHROMIUM, *flags, page.as_uri()], capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return np.asarray(Image.open(shot).convert("L")), console


@pytest.mark.slow
def test_fit_with_classic_baseline_reports_a_transfer_gain(reviews_run):
    metrics = json.loads((reviews_run / "metrics.json").read_text())
    classic = metrics["baselines"]["classic"]
    assert classic["description"] == "TF-IDF + logistic regression"
    assert classic["metrics"]["num_examples"] == metrics["baselines"]["examples"] == 40  # the 40 test reviews
    gain = classic["gain"]
    assert gain["gain"] == pytest.approx(metrics["test"]["accuracy"] - classic["metrics"]["accuracy"])
    assert gain["low"] <= gain["gain"] <= gain["high"]
    assert not gain["negative_transfer"]  # MiniLM's sentence meaning does not lose to word counts here
    test = metrics["test"]
    assert test["interval"]["low"] <= test["accuracy"] <= test["interval"]["high"]
    assert {"roc_auc", "pr_auc", "log_loss", "weighted_f1", "ece"} <= set(test)
    markdown = (reviews_run / "report.md").read_text()
    assert "## Transfer gain" in markdown and "TF-IDF + logistic regression" in markdown
    choice = metrics["selection"]  # --select: cross-validated probe vs classic vs concatenated features
    assert choice["chosen"] in {"probe", "classic", "concat"} and choice["margin"] >= 0
    assert "## Model choice" in markdown
    # `curve` into the run folder re-rendered the report with the curve, keeping the mistakes
    assert "## Learning curve" in markdown and "## Most confident mistakes" in markdown
    rows = json.loads((reviews_run / "curve.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"probe", "classic"} and {r["per_class"] for r in rows} == {
        4,
        26,
    }  # all = the largest class of the 51 training rows


@pytest.mark.slow
@needs_chromium
def test_report_renders_in_chromium_without_console_errors(reviews_run, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<html><body><p>x</p><script>console.error("control-error")</script></body></html>')
    _, control = render(broken, tmp_path)
    assert any("control-error" in line for line in control)  # the console check can see errors
    pixels, console = render(reviews_run / "report.html", tmp_path)
    assert console == []
    assert (pixels < 200).mean() > 0.02 and pixels.std() > 20  # text, tables and figures, not a blank page


@pytest.mark.slow
def test_evaluate_prints_ranking_and_calibration_metrics(reviews_run, reviews_csv, capsys):
    code = cli(["evaluate", str(reviews_run / "model"), str(reviews_csv), "--label-column", "score"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "ROC-AUC" in printed and "ECE" in printed and "95% CI" in printed


@pytest.mark.slow
def test_learning_curve_on_real_digits(digits_folder, tmp_path, capsys):
    code = cli(["curve", str(digits_folder), "--shots", "2,8", "--repeats", "1", "--output-dir", str(tmp_path)])
    assert code == 0
    rows = json.loads((tmp_path / "curve.json").read_text())["rows"]
    assert {(r["method"], r["per_class"]) for r in rows} == {("probe", 2), ("probe", 8), ("classic", 2), ("classic", 8)}
    probe = {r["per_class"]: r["accuracy_mean"] for r in rows if r["method"] == "probe"}
    assert probe[8] > 0.6  # three classes: chance is 1/3
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert "probe" in capsys.readouterr().out
    assert cli(["curve", str(digits_folder), "--shots", "2,many"]) == 2
