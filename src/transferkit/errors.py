"""User-facing errors. Each subclasses TransferKitError and a built-in, so callers can catch either.

Messages say what went wrong, where (the option or file), and how to fix it.
"""

from __future__ import annotations


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
