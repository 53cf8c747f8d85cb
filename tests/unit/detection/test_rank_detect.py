"""`rank --task detection`: each box becomes a crop of the real scene photo, labelled with its class, and the
candidates that can carry a detector are scored on those crops (LogME, k-NN ...)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from transferkit.detection.formats import read_detection
from transferkit.ranking import rank
from transferkit.ranking.detection import box_crops


def test_each_box_becomes_a_crop_of_its_pixels_with_its_class(scenes, tmp_path):
    data = read_detection(scenes / "train")
    inputs, labels = box_crops(data, tmp_path, context=0.0)
    assert len(inputs) == data.box_count and sorted(set(labels)) == sorted(
        {c for c, n in data.class_counts().items() if n}
    )
    x1, y1, x2, y2 = (round(float(v)) for v in data.boxes[0][0])
    with Image.open(data.images[0]) as photo:
        expected = np.asarray(photo.convert("RGB").crop((x1, y1, x2, y2)))
    with Image.open(inputs[0]) as crop:
        np.testing.assert_array_equal(np.asarray(crop), expected)
    assert labels[0] == data.classes[int(data.labels[0][0])]


@pytest.mark.real_backbone  # bundled MobileNetV2's ImageNet weights embed the crops
def test_rank_scores_the_crops_and_refuses_what_cannot_detect(scenes, tmp_path, capsys):
    from transferkit.cli import run

    ranking = rank(
        str(scenes / "train"), task="detection", candidates=["bundled:mobilenet_v2"], scores=["logme", "knn"]
    )
    row = ranking.rows[0]
    assert ranking.recommended == "bundled:mobilenet_v2" and row.num_features == 1280 and row.error is None
    assert ranking.data["examples"] == read_detection(scenes / "train").box_count and row.scores["knn"] > 0
    assert any("box crops" in caveat for caveat in ranking.caveats)
    argv = ["rank", str(scenes / "train"), "--task", "detection", "--candidates"]
    assert run([*argv, "bundled:minilm", "--json"]) == 2
    assert "cannot carry a detector" in capsys.readouterr().err
    assert run([*argv, "bundled:mobilenet_v2", "--confirm", "1"]) == 2
    assert "--confirm fine-tunes classifiers" in capsys.readouterr().err
    assert json.dumps(ranking.to_dict())  # the --json output is plain JSON
