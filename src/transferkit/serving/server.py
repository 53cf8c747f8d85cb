"""Run the server: a bundle as it is, or a model folder exported to a temporary bundle first; one process, or
`workers` processes behind uvicorn's supervisor. uvicorn's graceful shutdown on SIGTERM / Ctrl-C stops accepting
connections and lets in-flight requests finish (up to `graceful_s`) before the batch worker stops.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.runtime import BUNDLE_MANIFEST, load_bundle
from transferkit.serving.settings import ServeSettings

MODEL_MANIFEST = "model.json"


@contextmanager
def bundle_folder(path: str | Path, *, allow_download: bool = False) -> Iterator[Path]:
    """`path` when it is a bundle; a model folder is exported (with its parity check) to a temporary bundle,
    removed afterwards. Exporting needs torch; the server itself then runs on the torch-free runtime."""
    path = Path(path)
    if (path / BUNDLE_MANIFEST).is_file():
        yield path
        return
    if not (path / MODEL_MANIFEST).is_file():
        raise ArtifactError(f"{path} is neither a bundle ({BUNDLE_MANIFEST}) nor a model folder ({MODEL_MANIFEST}).")
    from transferkit.bundle import export_bundle
    from transferkit.workflows.routes import saved_task_name

    if saved_task_name(path) == "detection":  # its parity check needs the user's images
        raise ConfigError(
            f"{path} is a detection model: export its bundle first (transferkit export {path} --bundle DIR --check "
            "IMAGES), then serve DIR."
        )
    scratch = Path(tempfile.mkdtemp(prefix="transferkit-serve-"))
    try:
        export_bundle(path, scratch / "bundle", allow_download=allow_download)
        yield scratch / "bundle"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def serve(
    model: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    settings: ServeSettings | None = None,
    graceful_s: float = 30.0,
    allow_download: bool = False,
) -> None:
    """Serve `model` (a bundle or a model folder) over HTTP until interrupted.

    Example::

        serve("bundles/reviews", port=8000, settings=ServeSettings(max_batch=32, max_wait_ms=5))
    """
    uvicorn = require("uvicorn", extra="serve", purpose="transferkit serve")
    require("fastapi", extra="serve", purpose="transferkit serve")
    settings = settings or ServeSettings()
    if workers < 1:
        raise ConfigError(f"The 'workers' option must be at least 1. Got {workers}.")
    options = {"host": host, "port": port, "timeout_graceful_shutdown": graceful_s, "log_level": "info"}
    with bundle_folder(model, allow_download=allow_download) as folder:
        load_bundle(folder, precision=settings.precision)  # fail here, once, not in every worker
        if workers == 1:
            from transferkit.serving.app import create_app

            bundle = load_bundle(folder, precision=settings.precision, threads=settings.model_threads())
            uvicorn.run(create_app(bundle, settings), **options)
            return
        from transferkit.serving.app import ENVIRONMENT

        os.environ[ENVIRONMENT] = json.dumps({"bundle": str(folder), "settings": settings.to_dict()})
        uvicorn.run("transferkit.serving.app:app_from_environment", factory=True, workers=workers, **options)
