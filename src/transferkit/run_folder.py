"""Run folders: creation, atomic file writes, and the per-run log file."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from transferkit.errors import ConfigError

LOG_FILE = "fit.log"
logger = logging.getLogger("transferkit")


def default_run_name(data_path: str, backbone_spec: str, strategy: str) -> str:
    data = re.sub(r"[^A-Za-z0-9]+", "-", Path(data_path.removeprefix("builtin:")).stem).strip("-") or "data"
    backbone = re.sub(r"[^A-Za-z0-9]+", "-", backbone_spec.split(":")[-1]).strip("-")
    return f"{data}-{backbone}-{strategy}-{time.strftime('%Y%m%d-%H%M%S')}"


def create_run_dir(output_dir: str | Path, name: str, *, overwrite: bool) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ConfigError(f"The 'name' option {name!r} must use letters, digits, '.', '_' or '-' (no slashes).")
    run_dir = Path(output_dir) / name
    if run_dir.exists() and any(run_dir.iterdir()):
        if not (run_dir / "config.yaml").exists():
            raise ConfigError(f"{run_dir} exists and is not a transferkit run folder; choose another --name.")
        if not overwrite:
            raise ConfigError(f"Run folder {run_dir} already exists; choose another --name or pass --overwrite.")
        shutil.rmtree(run_dir)  # a fresh run must not mix with an old run's checkpoints or logs
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: readers see the old or the new file, never half."""
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


@contextmanager
def run_log(run_dir: Path) -> Iterator[logging.Logger]:
    """Send transferkit's log records to run_dir/fit.log for the duration of a run."""
    handler = logging.FileHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


RUN_NAME_ENV = "TRANSFERKIT_RUN_NAME"


def is_primary_process() -> bool:
    """False in the extra processes of a multi-process run (Lightning's launcher, torchrun, SLURM tasks)."""
    if os.environ.get("RANK") not in (None, "0"):
        return False
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def inherited_run_name() -> str | None:
    return os.environ.get(RUN_NAME_ENV)
