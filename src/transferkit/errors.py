"""User-facing errors. Each subclasses TransferKitError and a built-in, so callers can catch either.

Messages say what went wrong, where (the option or file), and how to fix it.

The command line (`transferkit.cli.run`) ends every failure with one line on stderr and one of the exit codes below.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

EXIT_OK = 0
EXIT_BUG = 1  # not the user's fault: the line names a log file holding the traceback (--debug prints it)
EXIT_USAGE = 2  # the input or the options: a TransferKitError or a command-line usage error, with the fix
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class TransferKitError(Exception):
    """Base class of every error transferkit raises on purpose."""


class ConfigError(TransferKitError, ValueError):
    """An option or config key is unknown or has a bad value."""


class DataError(TransferKitError, ValueError):
    """The data cannot be used: missing, empty, unreadable or with a single class."""


class BackboneError(TransferKitError, LookupError):
    """A backbone spec cannot be resolved or its weights cannot be loaded."""


class ArtifactError(TransferKitError, OSError):
    """A saved model or run folder is missing, incomplete or corrupt."""


class MissingDependencyError(TransferKitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class NotFittedError(TransferKitError, AttributeError):
    """An estimator was used before `fit`."""


def require(module: str, *, extra: str, purpose: str):
    """Import an optional dependency or raise MissingDependencyError naming the extra.

    Example:
        >>> np = require("numpy", extra="core", purpose="arrays")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the '{module}' package; install it with: pip install 'transferkit[{extra}]'"
        ) from exc


_LOG_ATTRIBUTE = "transferkit_log"


def attach_log(exc: BaseException, path: str | Path) -> None:
    """Record on `exc` the log file that holds its traceback (a run's fit.log), for the command line to name."""
    with contextlib.suppress(AttributeError, TypeError):  # __slots__: the command line then writes its own log
        setattr(exc, _LOG_ATTRIBUTE, Path(path))


def attached_log(exc: BaseException) -> Path | None:
    """The log file `attach_log` recorded on `exc`, if any."""
    path = getattr(exc, _LOG_ATTRIBUTE, None)
    return path if isinstance(path, Path) else None
