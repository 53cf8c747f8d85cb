"""Run folders, the YAML loader and the atomic writers that `fit`, `adapt` and `rl` share.

A run folder is claimed atomically: the marker file `transferkit-run.json` is created with O_EXCL, so
of two processes claiming one name exactly one wins. The marker holds the run id that checkpoints are
stamped with (a resumed run refuses a checkpoint of another run), and it is what `--overwrite` looks
for: a folder without it is never deleted. An overwritten run is set aside (`.NAME.replaced-ID`) and
removed only once the new run has finished; a failed new run puts it back.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as runs:
    ...     folder = RunFolder.claim(runs, "demo", overwrite=False)
    ...     with folder.in_progress():
    ...         write_atomic(folder.path / "metrics.json", "{}")
    ...     sorted(path.name for path in folder.path.iterdir())
    ['metrics.json', 'transferkit-run.json']
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transferkit.errors import ArtifactError, ConfigError, TransferKitError, attach_log, attached_log
from transferkit.version import __version__

LOG_FILE = "fit.log"
MARKER_FILE = "transferkit-run.json"
RUN_NAME_ENV = "TRANSFERKIT_RUN_NAME"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
logger = logging.getLogger("transferkit")


# ---- names ---------------------------------------------------------------------------------------


def safe_name(text: str, *, fallback: str = "run") -> str:
    """`text` reduced to letters, digits, '.', '_' and '-', usable as a folder name.

    Example:
        >>> safe_name("ALE/Pong-v5"), safe_name("my data.csv"), safe_name("../..")
        ('ALE-Pong-v5', 'my-data.csv', 'run')
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    return cleaned or fallback


def unique_stamp() -> str:
    """Time to the millisecond plus 32 random bits: default names of runs started together do not collide.

    (16 bits were too few: 50 names made in one millisecond collide with probability ~2%, and a test saw it.
    The claim of a run folder is atomic anyway, so a collision would be an error, never a shared folder.)
    """
    now = time.time()
    return f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}{int(now % 1 * 1000):03d}-{secrets.token_hex(4)}"


def unique_run_name(*parts: str) -> str:
    """A default run name from descriptive parts (sanitised) and a unique stamp.

    Example:
        >>> unique_run_name("ALE/Pong-v5", "ppo").startswith("ALE-Pong-v5-ppo-")
        True
    """
    return "-".join([*(safe_name(part) for part in parts if part), unique_stamp()])


def default_run_name(data_path: str, backbone_spec: str, strategy: str) -> str:
    data = safe_name(Path(data_path.removeprefix("builtin:")).stem, fallback="data")
    return unique_run_name(data, backbone_spec.split(":")[-1], strategy)


def check_run_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ConfigError(f"The 'name' option {name!r} must use letters, digits, '.', '_' or '-' (no slashes).")


# ---- YAML ----------------------------------------------------------------------------------------


def load_yaml_mapping(path: str | Path, *, what: str = "Config file") -> dict[str, Any]:
    """Read a YAML mapping safely (no Python objects); every failure is a ConfigError naming the file.

    Example:
        >>> load_yaml_mapping("missing.yaml")
        Traceback (most recent call last):
        ...
        transferkit.errors.ConfigError: Config file missing.yaml does not exist; check the --config path.
    """
    import yaml  # pyyaml is a core dependency; imported here so the module stays cheap to import

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist; check the --config path.")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text; save it as UTF-8 (a YAML mapping).") from None
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(
            f"{what} {path} uses a YAML tag that is never loaded ({_one_line_yaml(exc)}); a config holds plain values."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML ({exc.__class__.__name__}): fix the syntax.") from None
    except RecursionError:
        raise ConfigError(f"{what} {path} is nested too deeply to read; write a flat config.") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of keys to values, not a {type(values).__name__}.")
    _check_expanded_size(values, path, what=what)
    return values


def _one_line_yaml(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    return " ".join(str(problem).split())[:120]


MAX_YAML_NODES = 100_000  # a run config has a few hundred; aliases can make a small file expand past memory


def _check_expanded_size(values: Any, path: Path, *, what: str) -> None:
    """Refuse YAML whose aliases (``*name``) expand to more than MAX_YAML_NODES values, or refer to themselves:
    everything that reads the mapping later (validation, printing) walks it expanded."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(f"{what} {path} holds a YAML alias that contains itself; write the values out.")
        open_nodes.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise ConfigError(
                    f"{what} {path} expands to more than {MAX_YAML_NODES:,} values (YAML aliases); write a plain "
                    "config without repeated '*' references."
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    try:
        size(values)
    except RecursionError:
        raise ConfigError(f"{what} {path} is nested too deeply; write a flat config.") from None


# ---- atomic writes and swaps -----------------------------------------------------------------------


def _temporary_beside(path: Path) -> Path:
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it is fsynced and renamed onto `path`,
    on any failure it is removed and `path` keeps its old content."""
    path = Path(path)
    temporary = _temporary_beside(path)
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a half-written file, even after a kill or power loss."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def write_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def check_output(path: str | Path) -> Path:
    """An output file the user named can be written there: its folder exists and it is not a folder itself.
    Commands call it before their work, so a typo in --output fails at once, not after the work is done."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(f"Cannot write {path}: the folder {path.parent} does not exist; create it first.")
    if path.is_dir():
        raise ConfigError(f"Cannot write {path}: it is a folder; pass a file name.")
    return path


def write_output(path: str | Path, content: str | bytes) -> None:
    """A file the user asked for (predictions, metrics, a sweep, a curve): written atomically, and replacing
    an existing one logs a warning naming it (never silently)."""
    path = check_output(path)
    if path.exists():
        logger.warning("Replacing the existing %s", path)
    write_bytes_atomic(path, content.encode("utf-8") if isinstance(content, str) else content)


def previous_of(target: Path) -> Path:
    """Where a folder swap keeps the old folder until the new one is in place."""
    return target.parent / f".{target.name}.previous"


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace folder `target` by `staging`. An exception puts the old folder back; after a kill between
    the two renames the old folder waits in `previous_of(target)`, where `readable_folder` finds it."""
    previous = previous_of(target)
    if previous.exists() and target.exists():  # left by an earlier swap killed after its second rename
        shutil.rmtree(previous)
    if target.exists():
        os.replace(target, previous)
    try:
        os.replace(staging, target)
    except BaseException:
        if previous.exists() and not target.exists():
            os.replace(previous, target)
        raise
    shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def built_aside(target: str | Path) -> Iterator[Path]:
    """Yield an empty folder beside `target` to build in; when the block ends it is swapped into place
    (`swap_into_place`); on any failure it is removed and `target` keeps its old content."""
    target = Path(target)
    staging = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir(parents=True)
    try:
        yield staging
        swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def readable_folder(target: str | Path) -> Path:
    """`target`, or the old folder a swap killed half-way left beside it (so the last good artifact loads)."""
    target = Path(target)
    previous = previous_of(target)
    return previous if not target.exists() and previous.is_dir() else target


# ---- run folders -----------------------------------------------------------------------------------


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_run_id(run_dir: str | Path) -> str | None:
    """The id of the run in `run_dir` (None for a folder transferkit did not claim, or an older run)."""
    return _read_marker(Path(run_dir)).get("run_id")


def is_run_folder(path: Path) -> bool:
    return (path / MARKER_FILE).is_file()


@dataclass
class RunFolder:
    """A claimed run folder: its path, its run id, and the old run it replaces (kept until success)."""

    path: Path
    run_id: str | None
    replaced: Path | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def claim(cls, output_dir: str | Path, name: str, *, overwrite: bool, kind: str = "fit") -> RunFolder:
        """Create runs/NAME for a new run; exactly one of several processes claiming one name wins."""
        check_run_name(name)
        path = Path(output_dir) / name
        replaced = _set_aside(path) if overwrite and _occupied(path) else None
        _refuse_occupied(path)
        _make_run_dir(path)
        run_id = uuid.uuid4().hex
        marker = {"run_id": run_id, "name": name, "kind": kind, "transferkit_version": __version__}
        try:
            handle = os.open(path / MARKER_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise ConfigError(
                f"Run folder {path} was just claimed by another run; choose another --name (or leave it out)."
            ) from None
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(marker, indent=2) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        if replaced is not None:
            logger.info("the previous run of %s is kept at %s until this run finishes", path, replaced)
        return cls(path=path, run_id=run_id, replaced=replaced)

    @classmethod
    def join(cls, output_dir: str | Path, name: str) -> RunFolder:
        """The folder the primary process of a multi-process run claims (it may not exist yet under torchrun)."""
        check_run_name(name)
        path = Path(output_dir) / name
        _make_run_dir(path)
        return cls(path=path, run_id=read_run_id(path))

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """An existing run folder, to resume it."""
        path = Path(path)
        if not path.is_dir():
            raise ArtifactError(f"{path} is not a run folder; pass --resume runs/NAME.")
        return cls(path=path, run_id=read_run_id(path))

    @contextmanager
    def in_progress(self) -> Iterator[RunFolder]:
        """Run the work; afterwards drop the replaced run (success) or put it back (failure)."""
        try:
            yield self
        except BaseException as exc:
            moved_to = self._restore_replaced()
            log = attached_log(exc)
            if moved_to is not None and log is not None and log.parent == self.path:
                attach_log(exc, moved_to / log.name)  # the failed attempt's log moved with it
            raise
        if self.replaced is not None:
            shutil.rmtree(self.replaced, ignore_errors=True)
            self.replaced = None

    def _restore_replaced(self) -> Path | None:
        """Put the replaced run back; return where the failed attempt went (None when nothing was replaced)."""
        if self.replaced is None or not self.replaced.exists():
            return None
        failed = self.path.with_name(f"{self.name}.failed-{(self.run_id or uuid.uuid4().hex)[:8]}")
        os.replace(self.path, failed)
        os.replace(self.replaced, self.path)
        logger.warning("this run failed: the previous run is back in %s; this attempt is in %s", self.path, failed)
        self.replaced = None
        return failed


def open_run_folder(
    output_dir: str | Path,
    name: str,
    *,
    overwrite: bool,
    config_yaml: str,
    multi_process: bool,
    resume: str | Path | None = None,
) -> RunFolder:
    """The folder a run works in: `resume` reopened; else runs/NAME claimed with `config_yaml` written into it (the
    primary process), or the primary's folder joined (the other processes of a multi-process run).

    Every run that trains through Lightning (fit, detection, language models) opens its folder here; `multi_process`
    (more than one device or node) passes the name on to the processes Lightning launches by re-running the command.
    """
    if resume is not None:
        return RunFolder.open(resume)
    if not is_primary_process():
        return RunFolder.join(output_dir, name)
    folder = RunFolder.claim(output_dir, name, overwrite=overwrite)
    write_atomic(folder.path / "config.yaml", config_yaml)
    if multi_process:
        os.environ[RUN_NAME_ENV] = name
    return folder


def open_spec_run_folder(spec: Any, *, resume: str | Path | None = None) -> RunFolder:
    """`open_run_folder` with a RunSpec's run options and its YAML (a RunSpec: config sits above this module)."""
    run = spec.run
    multi_process = run.devices > 1 or run.num_nodes > 1
    return open_run_folder(
        run.output_dir,
        run.name or "",
        overwrite=run.overwrite,
        config_yaml=spec.to_yaml(),
        multi_process=multi_process,
        resume=resume,
    )


def _make_run_dir(path: Path) -> None:
    """Create runs/NAME (and runs/); an --output-dir that is a file or cannot be written is the user's to fix."""
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"Cannot make the run folder {path}: {folder} is a file; pass a folder to --output-dir.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot make the run folder {path} ({exc.strerror or exc}); pass a writable --output-dir."
        ) from None


def _occupied(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _refuse_occupied(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} exists and is a file, not a run folder; choose another --name.")
    if not _occupied(path):
        return
    if not is_run_folder(path):
        raise ConfigError(f"{path} exists and is not a transferkit run folder; choose another --name.")
    raise ConfigError(f"Run folder {path} already exists; choose another --name, or pass --overwrite to replace it.")


def _set_aside(path: Path) -> Path:
    """Move the run being overwritten beside its place; refuse a folder transferkit did not create."""
    if not is_run_folder(path):
        raise ConfigError(
            f"{path} is not a transferkit run folder (no {MARKER_FILE}), so --overwrite will not delete it; "
            "choose another --name or remove it yourself."
        )
    aside = path.with_name(f".{path.name}.replaced-{(read_run_id(path) or uuid.uuid4().hex)[:12]}")
    try:
        os.rename(path, aside)  # two processes overwriting one run: the second finds the name taken
    except OSError:
        raise ConfigError(f"Run folder {path} is being replaced by another run; choose another --name.") from None
    return aside


@contextmanager
def run_log(run_dir: Path) -> Iterator[logging.Logger]:
    """Send transferkit's log records to run_dir/fit.log for the duration of a run.

    A run that fails leaves its error in the log (with the traceback, unless it is a TransferKitError about the
    input), and the exception carries the log's path (`errors.attached_log`) for the command line to name."""
    handler = logging.FileHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield logger
    except Exception as exc:
        handler.handle(
            logger.makeRecord(
                logger.name,
                logging.ERROR,
                __file__,
                0,
                "run failed: %s",
                (exc,),
                None if isinstance(exc, TransferKitError) else (type(exc), exc, exc.__traceback__),
            )
        )
        attach_log(exc, run_dir / LOG_FILE)
        raise
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


def is_primary_process() -> bool:
    """False in the extra processes of a multi-process run (Lightning's launcher, torchrun, SLURM tasks)."""
    if os.environ.get("RANK") not in (None, "0"):
        return False
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def inherited_run_name() -> str | None:
    return os.environ.get(RUN_NAME_ENV)
