"""Box-labelled scenes made from real photographs: tuxpaint's cut-out photo stamps pasted onto real backgrounds.

No annotated detection set ships with the installed packages, so `builtin:stamp-scenes` builds one: the
stamps of Debian's tuxpaint-stamps-default are photographs of animals, fruit and vehicles with transparent
backgrounds, so pasting one gives an exact box. Test scenes use stamps and background photos that no
training scene uses. Each split is written as COCO JSON, Pascal VOC XML and YOLO txt over the same images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.detection.boxes import DetectionData
from transferkit.detection.formats import write_coco, write_voc, write_yolo
from transferkit.errors import DataError
from transferkit.run_folder import built_aside

STAMPS = Path("/usr/share/tuxpaint/stamps")
STAMP_CLASSES = {  # class -> stamp folders (cartoon drawings left out: only photographs)
    "bird": ("animals/birds",),
    "fruit": ("food/fruit",),
    "mammal": ("animals/mammals",),
    "vehicle": ("vehicles",),
}
TRAIN_BACKGROUNDS = (
    "astronaut",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "brick",
    "grass",
    "gravel",
    "moon",
    "camera",
)
TEST_BACKGROUNDS = ("china", "flower", "coffee")  # scikit-learn's two sample photos and scikit-image's coffee
TEST_STAMP_SHARE = 0.3
VERSION = 1  # bump when the scenes change, so cached copies are rebuilt


@dataclass(frozen=True)
class SceneOptions:
    """How many scenes of which size; the same options give the same images and boxes."""

    train: int = 300
    test: int = 100
    size: int = 320
    seed: int = 0
    max_objects: int = 4

    @property
    def key(self) -> str:
        return f"v{VERSION}-train{self.train}-test{self.test}-s{self.size}-seed{self.seed}-k{self.max_objects}"


def stamp_pools(root: Path = STAMPS, *, seed: int = 0) -> dict[str, dict[str, list[Path]]]:
    """{split: {class: stamp files}}: each class's photo stamps, a mirrored copy kept with its original, split
    so that no stamp of the test split appears in training."""
    if not root.is_dir():
        raise DataError(
            f"builtin:stamp-scenes needs the tuxpaint stamps at {root}; install them with: "
            "apt-get install tuxpaint-stamps-default"
        )
    rng = np.random.default_rng(seed)
    pools: dict[str, dict[str, list[Path]]] = {"train": {}, "test": {}}
    for name, folders in STAMP_CLASSES.items():
        files = [
            f
            for folder in folders
            for f in sorted((root / folder).rglob("*.png"))
            if "cartoon" not in f.relative_to(root).parts
        ]
        groups: dict[str, list[Path]] = {}
        for file in files:
            groups.setdefault(file.stem.removesuffix("_mirror"), []).append(file)
        keys = sorted(groups)
        rng.shuffle(keys)
        cut = max(1, round(len(keys) * TEST_STAMP_SHARE))
        pools["test"][name] = [f for k in keys[:cut] for f in groups[k]]
        pools["train"][name] = [f for k in keys[cut:] for f in groups[k]]
    return pools


def background_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo from scikit-image or scikit-learn's bundled samples."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    photo = getattr(skimage.data, name)()
    return np.repeat(photo[..., None], 3, axis=2) if photo.ndim == 2 else photo[..., :3]


def _cutout(path: Path, longest: int, rng: np.random.Generator) -> Image.Image | None:
    """The stamp as RGBA, scaled so its longer side is `longest` pixels and cropped to its opaque pixels."""
    with Image.open(path) as stamp:
        rgba = stamp.convert("RGBA")
    bbox = rgba.getchannel("A").point(lambda a: 255 if a >= 128 else 0).getbbox()
    if bbox is None:
        return None
    rgba = rgba.crop(bbox)
    scale = longest / max(rgba.size)
    rgba = rgba.resize((max(2, round(rgba.width * scale)), max(2, round(rgba.height * scale))), Image.BILINEAR)
    if rng.random() < 0.5:
        rgba = rgba.transpose(Image.FLIP_LEFT_RIGHT)
    return rgba


def _background(photo: np.ndarray, size: int, rng: np.random.Generator) -> Image.Image:
    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.5, 1.0))
    top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
    crop = Image.fromarray(np.ascontiguousarray(photo[top : top + side, left : left + side]))
    return crop.resize((size, size), Image.BILINEAR)


def _overlaps(box: tuple[int, int, int, int], placed: list[tuple[int, int, int, int]]) -> bool:
    """More than a quarter of either box covered: objects stay recognisable and their boxes stay true."""
    x1, y1, x2, y2 = box
    for a1, b1, a2, b2 in placed:
        inter = max(0, min(x2, a2) - max(x1, a1)) * max(0, min(y2, b2) - max(y1, b1))
        if inter > 0.25 * min((x2 - x1) * (y2 - y1), (a2 - a1) * (b2 - b1)):
            return True
    return False


def compose_scene(
    photo: np.ndarray, pool: dict[str, list[Path]], *, options: SceneOptions, rng: np.random.Generator
) -> tuple[Image.Image, list[tuple[int, int, int, int]], list[str]]:
    """One scene: a crop of `photo` with 1..max_objects stamps; returns the image, the boxes and class names."""
    scene = _background(photo, options.size, rng)
    boxes: list[tuple[int, int, int, int]] = []
    names: list[str] = []
    classes = sorted(pool)
    for _ in range(int(rng.integers(1, options.max_objects + 1))):
        name = classes[int(rng.integers(len(classes)))]
        stamp = _cutout(pool[name][int(rng.integers(len(pool[name])))], int(options.size * rng.uniform(0.15, 0.5)), rng)
        if stamp is None:
            continue
        for _attempt in range(20):
            left = int(rng.integers(0, options.size - stamp.width + 1))
            top = int(rng.integers(0, options.size - stamp.height + 1))
            box = (left, top, left + stamp.width, top + stamp.height)
            if not _overlaps(box, boxes):
                scene.paste(stamp, (left, top), stamp)
                boxes.append(box)
                names.append(name)
                break
    return scene, boxes, names


def write_scenes(folder: Path, split: str, options: SceneOptions, pools: dict[str, dict[str, list[Path]]]) -> None:
    """folder/{split}/images/*.jpg with annotations.json (COCO), Annotations/*.xml (VOC), labels/*.txt (YOLO)."""
    count = options.train if split == "train" else options.test
    backgrounds = [background_photo(name) for name in (TRAIN_BACKGROUNDS if split == "train" else TEST_BACKGROUNDS)]
    rng = np.random.default_rng([options.seed, 0 if split == "train" else 1])
    classes = sorted(STAMP_CLASSES)
    images, sizes, boxes, labels = [], [], [], []
    (folder / split / "images").mkdir(parents=True, exist_ok=True)
    for n in range(count):
        scene, corners, names = compose_scene(backgrounds[n % len(backgrounds)], pools[split], options=options, rng=rng)
        path = folder / split / "images" / f"{split}_{n:05d}.jpg"
        scene.save(path, quality=92)
        images.append(path)
        sizes.append(scene.size)
        boxes.append(np.array(corners, dtype=np.float32).reshape(-1, 4))
        labels.append(np.array([classes.index(name) for name in names], dtype=np.int64))
    data = DetectionData(images=images, sizes=sizes, boxes=boxes, labels=labels, classes=classes, source=split)
    write_coco(data, folder / split / "annotations.json")
    write_voc(data, folder / split)
    write_yolo(data, folder / split)


def scenes_root() -> Path:
    root = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit"))
    return root / "datasets" / "stamp-scenes"


def stamp_scenes(options: SceneOptions | None = None, *, root: Path | None = None) -> Path:
    """The folder holding train/ and test/ scenes for `options`, built once (atomically) and reused."""
    from filelock import FileLock

    options = options or SceneOptions()
    target = (root or scenes_root()) / options.key
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "test" / "annotations.json").is_file():
            return target
        with built_aside(target) as staging:  # COCO file names are relative, so they survive the move
            pools = stamp_pools(seed=options.seed)
            for split in ("train", "test"):
                write_scenes(staging, split, options, pools)
    return target
