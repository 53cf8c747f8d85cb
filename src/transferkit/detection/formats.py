"""Readers for the box formats people have (COCO JSON, Pascal VOC XML, YOLO txt) and writers for all three.

Each reader turns its files into RawImage records and leaves the checks to `boxes.validated`, so a bad box
gets the same message whichever format held it. A malformed file raises DataError naming it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from transferkit.detection.boxes import DetectionData, RawBox, RawImage, validated
from transferkit.errors import DataError

FORMATS = ("auto", "coco", "voc", "yolo")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
COCO_NAMES = ("annotations.json", "instances.json", "_annotations.coco.json")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header; DataError when it is no readable image."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(
            f"{path} is not a readable image ({exc.__class__.__name__}); remove it or replace it."
        ) from None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _sized(paths: list[Path], *, named_in: str) -> list[tuple[Path, tuple[int, int]]]:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(p.name for p in missing[:5]) + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
        raise DataError(f"{named_in} names {len(missing)} image(s) that do not exist: {shown}; fix the paths.")
    return [(p, image_size(p)) for p in paths]


# ---- detection of the format --------------------------------------------------------------------------


def detect_format(path: str | Path) -> str:
    """coco (a JSON file, or a folder holding one), voc (XML files) or yolo (txt labels and a class list)."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        raise DataError(f"{path}: a detection dataset is a COCO .json file or a VOC / YOLO folder.")
    if not path.is_dir():
        raise DataError(f"{path} does not exist; pass a COCO .json file or a VOC / YOLO folder.")
    if _coco_file(path) is not None:
        return "coco"
    if (path / "Annotations").is_dir() or any(path.glob("*.xml")):
        return "voc"
    if (path / "labels").is_dir() or any(path.glob("*.txt")):
        return "yolo"
    raise DataError(
        f"{path} holds no annotations.json (COCO), Annotations/*.xml (VOC) or labels/*.txt (YOLO); pass --format."
    )


def _coco_file(folder: Path) -> Path | None:
    return next((folder / name for name in COCO_NAMES if (folder / name).is_file()), None)


def read_detection(path: str | Path, *, format: str = "auto", skip_bad: bool = False) -> DetectionData:
    """Read and check a box-labelled dataset in any of the three formats."""
    if format not in FORMATS:
        raise DataError(f"The 'format' option must be one of {', '.join(FORMATS)}. Got '{format}'.")
    path = Path(path)
    chosen = detect_format(path) if format == "auto" else format
    reader = {"coco": read_coco, "voc": read_voc, "yolo": read_yolo}[chosen]
    raw, classes = reader(path)
    return validated(raw, classes, source=str(path), format=chosen, skip_bad=skip_bad)


# ---- COCO ---------------------------------------------------------------------------------------------


def _load_json(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); fix or re-export it.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("images"), list):
        raise DataError(f"{path} is not a COCO file: it needs 'images', 'annotations' and 'categories' lists.")
    return payload


# Long: one pass over COCO's three lists, each field checked where it is read so the message can name it.
def read_coco(path: Path) -> tuple[list[RawImage], list[str]]:
    """COCO JSON (a file, or a folder holding annotations.json); images relative to the file or its images/."""
    file = path if path.is_file() else _coco_file(path)
    if file is None:
        raise DataError(f"{path} holds no COCO annotations file ({', '.join(COCO_NAMES)}).")
    payload = _load_json(file)
    try:
        categories = {int(c["id"]): str(c["name"]) for c in payload.get("categories") or []}
        entries = {int(i["id"]): str(i["file_name"]) for i in payload["images"]}
        annotations = [
            (int(a["image_id"]), int(a["category_id"]), [float(v) for v in a["bbox"]], n)
            for n, a in enumerate(payload.get("annotations") or [])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{file}: a COCO record lacks or garbles a field ({exc!r}); fix or re-export it.") from None
    if not categories:
        raise DataError(f"{file} has no 'categories': COCO needs the class list there.")
    paths = [_coco_image(file.parent, name) for name in entries.values()]
    sized = dict(zip(entries, _sized(paths, named_in=str(file)), strict=True))
    boxes: dict[int, list[RawBox]] = {image_id: [] for image_id in entries}
    for image_id, category, bbox, n in annotations:
        if image_id not in entries:
            raise DataError(f"{file}: annotation {n} names image id {image_id}, which 'images' does not list.")
        if len(bbox) != 4:
            raise DataError(f"{file}: annotation {n} has a bbox of {len(bbox)} numbers; COCO's is [x, y, w, h].")
        x, y, w, h = bbox
        name = categories.get(category, f"category id {category}")
        where = f"{file.name} annotation {n} ({Path(entries[image_id]).name})"
        boxes[image_id].append(RawBox(x, y, x + w, y + h, name, where))
    raw = [
        RawImage(path=p, size=size, boxes=boxes[image_id], annotated=bool(boxes[image_id]))
        for image_id, (p, size) in sized.items()
    ]
    return raw, list(categories.values())


def _coco_image(base: Path, name: str) -> Path:
    """A COCO file name relative to the JSON file's folder, or to its images/ folder (both layouts are common)."""
    beside = base / name
    return base / "images" / name if not beside.exists() and (base / "images" / name).exists() else beside


def write_coco(data: DetectionData, path: str | Path) -> None:
    """annotations.json with file names relative to its folder (the images must sit at or under it)."""
    path = Path(path)
    images, annotations = [], []
    for image_id, (image, size, boxes, labels) in enumerate(
        zip(data.images, data.sizes, data.boxes, data.labels, strict=True), start=1
    ):
        images.append({"id": image_id, "file_name": _relative(image, path.parent), "width": size[0], "height": size[1]})
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist(), strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(data.classes)]
    payload = {"images": images, "annotations": annotations, "categories": categories}
    _write_text(path, json.dumps(payload, indent=1))


def _relative(image: Path, folder: Path) -> str:
    try:
        return image.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        raise DataError(f"{image} is not under {folder}; COCO file names are relative to the JSON file.") from None


def _write_text(path: Path, text: str) -> None:
    from transferkit.run_folder import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


# ---- Pascal VOC ---------------------------------------------------------------------------------------


def _voc_folders(path: Path) -> tuple[Path, Path]:
    """(XML folder, image folder): VOC's Annotations/ + JPEGImages/ (or images/), or XML files beside the images."""
    xml_dir = path / "Annotations" if (path / "Annotations").is_dir() else path
    image_dir = next((path / name for name in ("JPEGImages", "images") if (path / name).is_dir()), path)
    return xml_dir, image_dir


def _voc_number(node: ET.Element, tag: str, file: Path) -> float:
    text = node.findtext(tag)
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(f"{file}: <bndbox> has no number in <{tag}> (got {text!r}); fix the XML.") from None


def read_voc(path: Path) -> tuple[list[RawImage], list[str]]:
    """Pascal VOC: one XML per image (VOC's 1-based inclusive corners); classes from classes.txt, else sorted."""
    xml_dir, image_dir = _voc_folders(path)
    raw: list[RawImage] = []
    seen: set[str] = set()
    for file in sorted(xml_dir.glob("*.xml")):
        try:
            root = ET.parse(file).getroot()
        except ET.ParseError as exc:
            raise DataError(f"{file} is not well-formed XML ({exc}); fix or re-export it.") from None
        filename = root.findtext("filename") or f"{file.stem}.jpg"
        (image, size), *_ = _sized([image_dir / filename], named_in=str(file))
        boxes = []
        for n, obj in enumerate(root.iter("object")):
            node = obj.find("bndbox")
            name = (obj.findtext("name") or "").strip()
            if node is None or not name:
                raise DataError(f"{file}: <object> {n} lacks <name> or <bndbox>; fix the XML.")
            x1, y1, x2, y2 = (_voc_number(node, tag, file) for tag in ("xmin", "ymin", "xmax", "ymax"))
            boxes.append(RawBox(x1 - 1, y1 - 1, x2, y2, name, f"{file.name} object {n}"))
            seen.add(name)
        raw.append(RawImage(path=image, size=size, boxes=boxes))
    if not raw:
        raise DataError(f"{xml_dir} holds no .xml annotation files.")
    named = {r.path.name for r in raw}
    raw += [RawImage(path=p, size=image_size(p), annotated=False) for p in _images_in(image_dir) if p.name not in named]
    listed = _class_list(path)
    return raw, listed if listed is not None else sorted(seen)


def write_voc(data: DetectionData, folder: str | Path) -> None:
    """Annotations/*.xml beside the images' own folder (JPEGImages/ is not required by the reader)."""
    folder = Path(folder)
    for image, size, boxes, labels in zip(data.images, data.sizes, data.boxes, data.labels, strict=True):
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = image.name
        size_node = ET.SubElement(root, "size")
        for tag, value in zip(("width", "height", "depth"), (*size, 3), strict=True):
            ET.SubElement(size_node, tag).text = str(value)
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist(), strict=True):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = data.classes[label]
            box = ET.SubElement(obj, "bndbox")
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), (x1 + 1, y1 + 1, x2, y2), strict=True):
                ET.SubElement(box, tag).text = f"{value:g}"
        _write_text(folder / "Annotations" / f"{image.stem}.xml", ET.tostring(root, encoding="unicode"))
    _write_text(folder / "classes.txt", "\n".join(data.classes) + "\n")


def _class_list(path: Path) -> list[str] | None:
    """classes.txt (one name a line) or data.yaml's `names`, when the folder has one."""
    if (path / "classes.txt").is_file():
        return [line.strip() for line in (path / "classes.txt").read_text().splitlines() if line.strip()]
    if (path / "data.yaml").is_file():
        from transferkit.run_folder import load_yaml_mapping

        names = load_yaml_mapping(path / "data.yaml", what="YOLO data file").get("names")
        if isinstance(names, dict):
            names = [names[key] for key in sorted(names)]
        if not isinstance(names, list) or not names:
            raise DataError(f"{path / 'data.yaml'} has no 'names' list of classes.")
        return [str(name) for name in names]
    return None


# ---- YOLO ---------------------------------------------------------------------------------------------


def _yolo_folders(path: Path) -> tuple[Path, Path]:
    labels = path / "labels" if (path / "labels").is_dir() else path
    images = path / "images" if (path / "images").is_dir() else path
    return labels, images


def _yolo_line(line: str, file: Path, number: int, classes: list[str], size: tuple[int, int]) -> RawBox:
    parts = line.split()
    where = f"{file.name} line {number}"
    try:
        index, cx, cy, w, h = int(parts[0]), *map(float, parts[1:5])
        if len(parts) != 5:
            raise ValueError
    except (ValueError, IndexError):
        raise DataError(f"{where}: expected 'class cx cy w h' (5 numbers), got {line.strip()!r}.") from None
    width, height = size
    name = classes[index] if 0 <= index < len(classes) else f"class index {index}"
    return RawBox((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height, name, where)


def read_yolo(path: Path) -> tuple[list[RawImage], list[str]]:
    """YOLO: images/ and labels/ (one txt per image: class cx cy w h, normalised), classes.txt or data.yaml."""
    classes = _class_list(path)
    if classes is None:
        raise DataError(f"{path} has no classes.txt or data.yaml: a YOLO folder needs its class list.")
    label_dir, image_dir = _yolo_folders(path)
    raw = []
    for image in _images_in(image_dir):
        size = image_size(image)
        file = label_dir / f"{image.stem}.txt"
        if not file.is_file():
            raw.append(RawImage(path=image, size=size, annotated=False))
            continue
        lines = [(n, line) for n, line in enumerate(file.read_text().splitlines(), start=1) if line.strip()]
        raw.append(RawImage(path=image, size=size, boxes=[_yolo_line(t, file, n, classes, size) for n, t in lines]))
    orphans = sorted({p.stem for p in label_dir.glob("*.txt")} - {r.path.stem for r in raw} - {"classes"})
    if orphans:
        raise DataError(f"{label_dir} has label files for images that do not exist: {', '.join(orphans[:5])}.")
    if not raw:
        raise DataError(f"{image_dir} holds no images.")
    return raw, classes


def write_yolo(data: DetectionData, folder: str | Path) -> None:
    """labels/*.txt (normalised centre and size) and classes.txt; the images stay where they are."""
    folder = Path(folder)
    for image, (width, height), boxes, labels in zip(data.images, data.sizes, data.boxes, data.labels, strict=True):
        rows = []
        for (x1, y1, x2, y2), label in zip(np.asarray(boxes).tolist(), labels.tolist(), strict=True):
            cx, cy, w, h = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height
            rows.append(f"{label} {cx:.7f} {cy:.7f} {w:.7f} {h:.7f}")
        _write_text(folder / "labels" / f"{image.stem}.txt", "\n".join(rows) + ("\n" if rows else ""))
    _write_text(folder / "classes.txt", "\n".join(data.classes) + "\n")
