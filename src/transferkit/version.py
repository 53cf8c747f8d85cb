"""The installed transferkit version, importable from any layer without loading the whole package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("transferkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
