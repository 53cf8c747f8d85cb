"""The model-folder format: model.json (the manifest) + weights.safetensors, each file checked by SHA-256.

It lives with the backbones because a saved model folder is itself a backbone source (`path:runs/X/model`);
`transferkit.artifacts` assembles and saves whole models on top of it. A received folder is hostile until
checked: its file list holds plain file names only, every file it loads is listed and checksummed before
anything is built, and a folder whose backbone leads back to itself is refused.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from transferkit.backbones.base import sha256_file
from transferkit.errors import ArtifactError

FORMAT_VERSION = 1
MANIFEST = "model.json"
WEIGHTS = "weights.safetensors"
MAX_NESTING = 8  # path: backbones inside path: backbones; real models use one or two levels

_loading: ContextVar[tuple[Path, ...]] = ContextVar("transferkit_model_folders_loading", default=())


@contextlib.contextmanager
def loading_folder(folder: Path) -> Iterator[None]:
    """Mark `folder` as being loaded; a backbone that leads back to it (directly or through others) is refused."""
    resolved = folder.resolve()
    chain = _loading.get()
    if resolved in chain:
        cycle = " -> ".join(f"path:{path}" for path in (*chain[chain.index(resolved) :], resolved))
        raise ArtifactError(f"{folder} names itself as its backbone ({cycle}); fix 'backbone.spec' in its {MANIFEST}.")
    if len(chain) >= MAX_NESTING:
        raise ArtifactError(f"{folder} nests path: backbones more than {MAX_NESTING} deep; flatten the model folder.")
    token = _loading.set((*chain, resolved))
    try:
        yield
    finally:
        _loading.reset(token)


def plain_file_name(name: object, *, manifest: Path) -> str:
    """`name` if it is a plain file name inside the folder (no absolute path, no '..', no separator)."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or Path(name).is_absolute()
    ):
        raise ArtifactError(
            f"{manifest} lists the file {name!r}; a model folder lists plain file names only (no path, no '..'). "
            "The folder was altered: get it again from its source."
        )
    return name


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# model.json's entries that loading reads, each with the shape it must have (None: the entry may be absent).
_MANIFEST_SHAPE: dict[str, tuple[str, Any]] = {
    "class_names": ("a list of class names", lambda value: _is_str_list(value) and value),
    "model": ("an object with a 'kind'", lambda value: value is None or isinstance((value or {}).get("kind"), str)),
    "head": ("an object of head settings", lambda value: value is None or isinstance(value, dict)),
    "task": (
        "an object with a 'name' and a 'state'",
        lambda value: (
            value is None
            or (isinstance(value, dict) and isinstance(value.get("name"), str) and isinstance(value.get("state"), dict))
        ),
    ),
    "metadata": ("an object", lambda value: value is None or isinstance(value, dict)),
}


def check_manifest_shape(manifest: dict[str, Any], path: Path) -> None:
    """Every entry loading reads is there with the right shape: a clear ArtifactError, never a KeyError later.

    Example:
        >>> check_manifest_shape({"class_names": "ab"}, Path("model.json"))
        Traceback (most recent call last):
        ...
        transferkit.errors.ArtifactError: model.json has a malformed 'class_names' entry (needs a list of class ...
    """
    for key, (shape, valid) in _MANIFEST_SHAPE.items():
        if not valid(manifest.get(key)):
            raise ArtifactError(
                f"{path} has a malformed '{key}' entry (needs {shape}); the folder is incomplete or was altered: "
                "retrain or restore the model folder."
            )


def _listed_files(manifest: dict[str, Any], path: Path) -> dict[str, str]:
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(value, str) for value in files.values()):
        raise ArtifactError(f"{path} has no valid 'files' map of name -> SHA-256; retrain or restore the model folder.")
    for name in files:
        plain_file_name(name, manifest=path)
    if WEIGHTS not in files:  # every file load_model reads must be checked
        raise ArtifactError(f"{path} does not list {WEIGHTS} with its checksum; retrain or restore the model folder.")
    return files


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """model.json of `folder`, after checking its format version and the checksum of every file it lists."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a transferkit model folder (no {MANIFEST}); pass runs/NAME/model.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is corrupt ({exc.msg}); retrain or restore the model folder.") from None
    except UnicodeDecodeError:
        raise ArtifactError(f"{path} is not UTF-8 JSON; retrain or restore the model folder.") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} is not a JSON object; retrain or restore the model folder.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {manifest.get('format_version')}; this transferkit reads "
            f"{FORMAT_VERSION}. Upgrade transferkit or retrain."
        )
    check_manifest_shape(manifest, path)
    for name, checksum in _listed_files(manifest, path).items():
        file = folder / name
        if file.is_symlink():
            raise ArtifactError(f"{file} is a link; a model folder holds its own files. Get it again from its source.")
        if not file.is_file() or sha256_file(file) != checksum:
            raise ArtifactError(f"{file} is missing or does not match its checksum; the model folder is incomplete.")
    return manifest


def backbone_info(manifest: dict[str, Any], folder: Path) -> dict[str, Any] | None:
    """The manifest's backbone record (spec, options, weights checksum, trained), checked for shape."""
    info = manifest.get("backbone")
    if info is None:
        return None
    valid = (
        isinstance(info, dict)
        and isinstance(info.get("spec"), str)
        and isinstance(info.get("options", {}), dict)
        and isinstance(info.get("trained", False), bool)
        and isinstance(info.get("weights", {}), dict)
    )
    if not valid:
        raise ArtifactError(
            f"{folder / MANIFEST} has a malformed 'backbone' record (needs spec, options, weights, trained); "
            "retrain or restore the model folder."
        )
    return info
