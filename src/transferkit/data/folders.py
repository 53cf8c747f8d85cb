"""Folders of files, one sub-folder per class: the layout image and audio data share.

The reader for each kind of file (`check` returns why a file is unusable, or None) is all that differs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.errors import DataError

Check = Callable[[Path], "str | None"]


def list_files(folder: Path) -> list[Path]:
    """All non-hidden files below `folder`, sorted, so results never depend on directory order.

    Hidden means hidden inside `folder`: a dataset kept under ~/.cache or another dot-folder is still read.
    """
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def load_class_folders(root: str | Path, *, modality: str, check: Check, items: str, layout: str) -> LabeledData:
    """Read `root/<class>/<file>` into LabeledData; files `check` rejects go to `bad_items` with the reason.

    `items` names the files in errors ("images", "clips"); `layout` is the file part of the expected layout.
    """
    root = Path(root)
    kind = modality.capitalize()
    if not root.is_dir():
        raise DataError(f"{kind} folder {root} does not exist; pass a folder with one sub-folder per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"{kind} folder {root} has no class sub-folders; arrange {items} as {root}/<class name>/{layout}."
        )
    inputs: list[str] = []
    labels: list[str] = []
    bad: list[BadItem] = []
    for class_dir in class_dirs:
        files = list_files(class_dir)
        if not files:
            raise DataError(f"Class folder {class_dir} is empty; add {items} to it or remove the folder.")
        good, rejected = checked(files, check, inside=root)
        inputs += good
        labels += [class_dir.name] * len(good)
        bad += rejected
    return LabeledData(modality=modality, inputs=inputs, labels=labels, source=str(root), bad_items=bad)


def load_file_inputs(paths: list[str | Path], *, check: Check, expected: str) -> tuple[list[str], list[BadItem]]:
    """Expand files and folders (recursively) into checked paths, for prediction; `expected` says what to pass."""
    good: list[str] = []
    bad: list[BadItem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():  # a folder's files must stay inside it; a file named on its own is the caller's choice
            found = checked(list_files(path), check, inside=path)
        elif path.is_file():
            found = checked([path], check)
        else:
            raise DataError(f"Input {path} does not exist; pass {expected}.")
        good += found[0]
        bad += found[1]
    return good, bad


def escapes(path: Path, root: Path) -> str | None:
    """Why `path`, found in the folder `root`, may not be read: a symbolic link (of the file or of a folder on
    its way) that leads outside `root`; None when it stays inside."""
    real_root, target = root.resolve(), path.resolve()
    if target == real_root or real_root in target.parents:
        return None
    return f"a symbolic link that leads outside {root} (to {target}); copy the file into the folder instead"


def checked(files: list[Path], check: Check, *, inside: Path | None = None) -> tuple[list[str], list[BadItem]]:
    """The usable files (as strings) and the rejected ones with `check`'s reason, each in the given order.

    With `inside`, a file whose real location is outside that folder is rejected before it is opened.
    """
    good: list[str] = []
    bad: list[BadItem] = []
    for path in files:
        reason = (escapes(path, inside) if inside is not None else None) or check(path)
        if reason:
            bad.append(BadItem(str(path), reason))
        else:
            good.append(str(path))
    return good, bad
