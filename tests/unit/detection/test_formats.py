"""The three readers on identical scenes, and one clear error (or warning) per kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from transferkit.detection.formats import detect_format, read_detection
from transferkit.errors import DataError


def test_coco_voc_and_yolo_read_the_same_boxes(scenes):
    coco, voc, yolo = (read_detection(scenes / "train", format=name) for name in ("coco", "voc", "yolo"))
    assert coco.classes == voc.classes == yolo.classes == ["bird", "fruit", "mammal", "vehicle"]
    assert [p.name for p in coco.images] == [p.name for p in voc.images] == [p.name for p in yolo.images]
    assert coco.box_count == voc.box_count == yolo.box_count > len(coco)
    for a, b, c in zip(coco.boxes, voc.boxes, yolo.boxes, strict=True):
        np.testing.assert_array_equal(a, b)  # VOC's 1-based corners round-trip exactly
        np.testing.assert_allclose(a, c, atol=1e-3)  # YOLO's normalised floats to 7 decimals
    for a, b, c in zip(coco.labels, voc.labels, yolo.labels, strict=True):
        assert a.tolist() == b.tolist() == c.tolist()


def test_the_format_is_detected(scenes, tmp_path):
    assert detect_format(scenes / "train") == "coco"
    assert detect_format(scenes / "train" / "annotations.json") == "coco"
    voc = tmp_path / "voc"
    shutil.copytree(scenes / "train" / "Annotations", voc / "Annotations")
    shutil.copytree(scenes / "train" / "images", voc / "images")
    assert detect_format(voc) == "voc"
    assert read_detection(voc).format == "voc"


def _coco_copy(scenes: Path, tmp_path: Path, edit) -> Path:
    payload = json.loads((scenes / "train" / "annotations.json").read_text())
    edit(payload)
    shutil.copytree(scenes / "train" / "images", tmp_path / "images")
    (tmp_path / "annotations.json").write_text(json.dumps(payload))
    return tmp_path / "annotations.json"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["annotations"][0].update(bbox=[50, 50, 500, 20]), "outside the 96x96 image"),
        (lambda p: p["annotations"][1].update(bbox=[10, 10, 0, 5]), "zero or negative area"),
        (lambda p: p["annotations"][2].update(category_id=99), "not in the class list"),
    ],
)
def test_each_bad_box_is_listed_with_its_file_and_reason(scenes, tmp_path, edit, message):
    path = _coco_copy(scenes, tmp_path, edit)
    with pytest.raises(DataError, match=message) as caught:
        read_detection(path)
    assert "annotations.json annotation" in str(caught.value) and "--skip-bad-files" in str(caught.value)
    kept = read_detection(path, skip_bad=True)  # or left out, with a warning that says so
    assert kept.box_count == read_detection(scenes / "train").box_count - 1
    assert "left out 1 bad box" in kept.warnings[0]


def test_missing_images_and_unannotated_images(scenes, tmp_path):
    path = _coco_copy(scenes, tmp_path / "a", lambda p: p["images"][0].update(file_name="images/gone.jpg"))
    with pytest.raises(DataError, match=r"names 1 image\(s\) that do not exist: gone.jpg"):
        read_detection(path)
    strip = _coco_copy(
        scenes, tmp_path / "b", lambda p: p.update(annotations=[a for a in p["annotations"] if a["image_id"] != 1])
    )
    data = read_detection(strip)
    assert any("have no annotation and train as background: train_00000.jpg" in w for w in data.warnings)
    assert len(data.boxes[0]) == 0 and len(data) == 8


def test_malformed_files_name_themselves(scenes, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json is not valid JSON"):
        read_detection(tmp_path / "bad.json")
    voc = tmp_path / "voc"
    shutil.copytree(scenes / "train" / "Annotations", voc / "Annotations")
    shutil.copytree(scenes / "train" / "images", voc / "images")
    (voc / "Annotations" / "train_00001.xml").write_text("<annotation><object>")
    with pytest.raises(DataError, match=r"train_00001\.xml is not well-formed XML"):
        read_detection(voc)
    yolo = tmp_path / "yolo"
    shutil.copytree(scenes / "train" / "labels", yolo / "labels")
    shutil.copytree(scenes / "train" / "images", yolo / "images")
    shutil.copy(scenes / "train" / "classes.txt", yolo)
    (yolo / "labels" / "train_00002.txt").write_text("0 0.5 0.5 0.2\n")
    with pytest.raises(DataError, match=r"train_00002.txt line 1: expected 'class cx cy w h'"):
        read_detection(yolo)
    (yolo / "labels" / "train_00002.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataError, match="class 'class index 7' is not in the class list"):
        read_detection(yolo)
