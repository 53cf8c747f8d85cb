"""The model-folder format: model.json (the manifest) + weights.safetensors, each file checked by SHA-256.

It lives with the backbones because a saved model folder is itself a backbone source (`path:runs/X/model`);
`transferkit.artifacts` assembles and saves whole models on top of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transferkit.backbones.base import sha256_file
from transferkit.errors import ArtifactError

FORMAT_VERSION = 1
MANIFEST = "model.json"
WEIGHTS = "weights.safetensors"


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
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {manifest.get('format_version')}; this transferkit reads "
            f"{FORMAT_VERSION}. Upgrade transferkit or retrain."
        )
    for name, checksum in manifest["files"].items():
        file = folder / name
        if not file.is_file() or sha256_file(file) != checksum:
            raise ArtifactError(f"{file} is missing or does not match its checksum; the model folder is incomplete.")
    return manifest
