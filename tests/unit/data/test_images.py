import pytest
from PIL import Image

from transferkit.data import load_labeled, validate_labeled
from transferkit.data.images import load_image_inputs, open_rgb
from transferkit.errors import DataError


def _folder(root, classes=("cat", "dog"), per_class=3):
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            Image.new("RGB", (16, 16), (index * 40, 10, 200)).save(root / name / f"{index}.png")
    return root


def test_reads_classes_from_sub_folders(tmp_path):
    data = load_labeled(_folder(tmp_path))
    report = validate_labeled(data, skip_bad_files=False)
    assert data.modality == "image"
    assert report.class_counts == {"cat": 3, "dog": 3}
    assert report.imbalance_ratio == 1.0


def test_bad_files_are_listed_with_reasons_and_refused(tmp_path):
    root = _folder(tmp_path)
    full = (root / "cat" / "0.png").read_bytes()
    (root / "cat" / "truncated.png").write_bytes(full[: len(full) // 2])
    (root / "dog" / "notes.txt").write_text("not a picture")
    (root / "dog" / "empty.jpg").write_bytes(b"")
    data = load_labeled(root)
    reasons = {item.location.split("/")[-1]: item.reason for item in data.bad_items}
    assert reasons == {"truncated.png": "truncated image", "notes.txt": "not an image", "empty.jpg": "empty file"}
    with pytest.raises(DataError, match=r"3 unusable item\(s\).*truncated\.png: truncated image.*--skip-bad-files"):
        validate_labeled(data, skip_bad_files=False)
    report = validate_labeled(data, skip_bad_files=True)
    assert report.class_counts == {"cat": 3, "dog": 3}
    assert len(report.skipped) == 3


def test_empty_class_folder_is_refused(tmp_path):
    root = _folder(tmp_path)
    (root / "bird").mkdir()
    with pytest.raises(DataError, match=r"Class folder .*bird is empty"):
        load_labeled(root)


def test_folder_without_class_folders_is_refused(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "loose.png")
    with pytest.raises(DataError, match="has no class sub-folders"):
        load_labeled(tmp_path)


def test_single_class_is_refused(tmp_path):
    data = load_labeled(_folder(tmp_path, classes=("cat",)))
    with pytest.raises(DataError, match=r"single class \('cat'\)"):
        validate_labeled(data, skip_bad_files=False)


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere does not exist"):
        load_labeled(tmp_path / "nowhere")


def test_prediction_inputs_expand_folders(tmp_path):
    root = _folder(tmp_path)
    good, bad = load_image_inputs([root / "cat", root / "dog" / "1.png"])
    assert len(good) == 4 and not bad


def test_a_dataset_under_a_hidden_folder_is_read_but_hidden_files_inside_it_are_not(tmp_path):
    root = _folder(tmp_path / ".cache" / "photos")
    (root / "cat" / ".thumbnail.png").write_bytes((root / "cat" / "0.png").read_bytes())
    data = load_labeled(root)
    assert validate_labeled(data, skip_bad_files=False).class_counts == {"cat": 3, "dog": 3}
    assert load_image_inputs([str(root)]) == (sorted(str(p) for p in root.glob("*/[0-9].png")), [])


def _cut_out(path, mode):
    """A 4x2 cut-out: opaque red, fully transparent over hidden green paint, and half-transparent blue."""
    image = Image.new("RGBA", (4, 2), (0, 255, 0, 0))  # the hidden colour convert("RGB") alone would show
    image.putpixel((0, 0), (255, 0, 0, 255))
    image.putpixel((1, 0), (0, 0, 255, 128))
    if mode == "P":  # palette with one transparent index
        image = Image.new("P", (4, 2), 1)
        image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
        image.putpixel((0, 0), 0)
        image.info["transparency"] = 1
    elif mode == "LA":
        image = image.convert("LA")
    image.save(path)
    return path


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_open_rgb_lays_transparent_pixels_over_white(tmp_path, mode):
    from transferkit.data.images import open_rgb

    path = _cut_out(tmp_path / f"cut-{mode}.png", mode)
    with Image.open(path) as raw:
        hidden = raw.convert("RGB").getpixel((3, 1))
    rgb = open_rgb(path)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((3, 1)) == (255, 255, 255)
    assert hidden != (255, 255, 255)  # what the old convert("RGB") fed the model
    if mode == "RGBA":
        assert rgb.getpixel((0, 0)) == (255, 0, 0)  # opaque pixels keep their colour
        assert rgb.getpixel((1, 0)) == (127, 127, 255)  # half-transparent blue blends with white


def test_backbone_batches_see_cut_outs_on_white(tmp_path):
    from torchvision.transforms.functional import pil_to_tensor

    from transferkit.backbones.base import load_image_batch

    path = _cut_out(tmp_path / "cut.png", "RGBA")
    batch = load_image_batch([str(path)], pil_to_tensor)
    assert batch.shape == (1, 3, 2, 4)
    assert batch[0, :, 1, 3].tolist() == [255, 255, 255]
    assert batch[0, :, 0, 0].tolist() == [255, 0, 0]


def test_open_rgb_stretches_16_bit_and_float_greyscale_instead_of_clipping(tmp_path):
    import numpy as np

    from transferkit.data.images import open_rgb

    ramp = np.linspace(0, 4095, 64 * 64).reshape(64, 64).astype(np.uint16)  # 12 bits used of 16, as in X-rays
    Image.fromarray(ramp).save(tmp_path / "xray.png")
    with Image.open(tmp_path / "xray.png") as raw:
        assert raw.mode == "I;16"
        clipped = np.asarray(raw.convert("RGB"))[..., 0]
    assert (clipped == 255).mean() > 0.9  # what convert("RGB") alone made of it
    pixels = np.asarray(open_rgb(tmp_path / "xray.png"))
    assert pixels.shape == (64, 64, 3) and (pixels[..., 0] == pixels[..., 2]).all()
    assert pixels.min() == 0 and pixels.max() == 255
    assert (np.diff(pixels[..., 0].ravel().astype(int)) >= 0).all()  # the ramp keeps its order
    np.testing.assert_allclose(pixels[..., 0].astype(float), ramp / 4095 * 255, atol=0.5)

    depth = np.linspace(-1.0, 3.0, 16 * 16, dtype=np.float32).reshape(16, 16)
    Image.fromarray(depth).save(tmp_path / "depth.tiff")
    assert np.asarray(open_rgb(tmp_path / "depth.tiff"))[..., 1].tolist()[0][0] == 0
    flat = np.full((8, 8), 1234, dtype=np.uint16)
    Image.fromarray(flat).save(tmp_path / "flat.png")
    assert np.asarray(open_rgb(tmp_path / "flat.png")).max() == 0  # no range to stretch: black, not noise


def test_open_rgb_turns_photos_upright_by_their_exif_orientation(tmp_path):
    from transferkit.data.images import open_rgb

    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))  # left half red as stored on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = open_rgb(tmp_path / "phone.jpg")
    assert upright.size == (20, 40)
    red, _, blue = upright.getpixel((10, 5))  # the stored left half is now on top
    assert red > 200 and blue < 60


def test_an_image_between_one_and_two_times_the_pixel_limit_is_a_bad_file(tmp_path, monkeypatch):
    # PIL only warns between 1x and 2x its limit; a lowered limit lets small files play 100-megapixel ones.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for index in range(2):
            Image.new("RGB", (8, 8)).save(tmp_path / name / f"{index}.png")
    Image.new("RGB", (15, 15)).save(tmp_path / "cat" / "bomb.png")  # 225 pixels: PIL only warns
    Image.new("RGB", (25, 25)).save(tmp_path / "dog" / "bigger-bomb.png")  # over 2x: PIL's own error
    data = load_labeled(tmp_path)
    reasons = {item.location.split("/")[-1]: item.reason for item in data.bad_items}
    assert set(reasons) == {"bomb.png", "bigger-bomb.png"}
    assert reasons["bomb.png"] == (
        "image too large (225 pixels, over the 200-pixel limit against decompression bombs); shrink it"
    )
    with pytest.raises(DataError, match=r"bomb\.png: image too large.*--skip-bad-files"):
        validate_labeled(data, skip_bad_files=False)
    assert validate_labeled(data, skip_bad_files=True).class_counts == {"cat": 2, "dog": 2}
    with pytest.raises(DataError, match=r"bomb\.png: image too large"):
        open_rgb(tmp_path / "cat" / "bomb.png")


def test_symbolic_links_leading_outside_the_data_folder_are_refused(tmp_path):
    root = _folder(tmp_path / "data")
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    Image.new("RGB", (8, 8)).save(secret / "private.png")
    (root / "cat" / "link.png").symlink_to(secret / "private.png")
    (root / "dog" / "linked-folder").symlink_to(secret, target_is_directory=True)
    (root / "cat" / "inside.png").symlink_to(root / "dog" / "0.png")  # a link within the folder is fine
    data = load_labeled(root)
    bad = {item.location.split("/data/")[-1]: item.reason for item in data.bad_items}
    assert "cat/link.png" in bad and "leads outside" in bad["cat/link.png"]
    assert all("leads outside" in reason for reason in bad.values())
    assert str(root / "cat" / "inside.png") in data.inputs
    with pytest.raises(DataError, match=r"link\.png: a symbolic link that leads outside"):
        validate_labeled(data, skip_bad_files=False)
    assert validate_labeled(data, skip_bad_files=True).class_counts == {"cat": 4, "dog": 3}
    good, rejected = load_image_inputs([root, secret / "private.png"])  # a file named on its own is read
    assert str(secret / "private.png") in good and str(root / "cat" / "inside.png") in good
    assert str(root / "cat" / "link.png") in {item.location for item in rejected}
    assert all("leads outside" in item.reason for item in rejected)
