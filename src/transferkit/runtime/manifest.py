"""bundle.json: what a bundle holds (graph, preprocessing, task) and the SHA-256 of every file it lists.

A bundle is checked before anything in it is read: a missing, altered or linked file is an ArtifactError.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from transferkit.errors import ArtifactError

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_FORMAT = 1
MODALITIES = ("text", "image", "tabular")
TASKS = ("classification", "multilabel", "regression", "detection")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fix(folder: Path) -> str:
    return f"export the bundle again (transferkit export MODEL --format onnx --bundle {folder})"


def read_bundle_manifest(folder: str | Path) -> dict[str, Any]:
    """bundle.json of `folder` after checking its shape and every listed file's checksum.

    Example::

        manifest = read_bundle_manifest("bundles/reviews")
        manifest["modality"], manifest["task"]["name"]
    """
    folder = Path(folder)
    path = folder / BUNDLE_MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a transferkit bundle (no {BUNDLE_MANIFEST}); {_fix(folder)}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid UTF-8 JSON ({exc}); {_fix(folder)}.") from None
    _check_shape(manifest, path)
    for name, checksum in manifest["files"].items():
        file = folder / name
        if Path(name).name != name or name.startswith("."):
            raise ArtifactError(f"{path} lists '{name}', which is not a plain file name; {_fix(folder)}.")
        if file.is_symlink():
            raise ArtifactError(f"{file} is a link; a bundle holds its own files. {_fix(folder).capitalize()}.")
        if not file.is_file():
            raise ArtifactError(f"{file} is missing from the bundle; {_fix(folder)}.")
        if file_sha256(file) != checksum:
            raise ArtifactError(f"{file} does not match its checksum in {BUNDLE_MANIFEST} (altered); {_fix(folder)}.")
    return manifest


def _check_shape(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} is not a JSON object; {_fix(path.parent)}.")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ArtifactError(
            f"{path} has bundle format {manifest.get('format')!r}; this transferkit reads {BUNDLE_FORMAT}. "
            "Upgrade transferkit or export the bundle again."
        )
    problems = []
    if manifest.get("modality") not in MODALITIES:
        problems.append(f"modality {manifest.get('modality')!r}")
    task = manifest.get("task")
    if not isinstance(task, dict) or task.get("name") not in TASKS or not isinstance(task.get("state"), dict):
        problems.append("task")
    if not isinstance(manifest.get("files"), dict) or not all(isinstance(v, str) for v in manifest["files"].values()):
        problems.append("files")
    graphs = manifest.get("graphs")
    if not isinstance(graphs, dict) or not graphs or not all(g in manifest.get("files", {}) for g in graphs.values()):
        problems.append("graphs (each must be a listed file)")
    if not isinstance(manifest.get("preprocessing"), dict) or not isinstance(manifest.get("inputs"), list):
        problems.append("preprocessing / inputs")
    if problems:
        raise ArtifactError(f"{path} has a malformed {', '.join(problems)}; {_fix(path.parent)}.")
