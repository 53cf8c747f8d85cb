"""Loading weights files safely (safetensors, or torch.load with weights_only=True) and explaining offline failures.

A `.pth` / `.bin` file that needs arbitrary code to unpickle is refused: transferkit never runs code
from a weights file a user hands it. `torch.load` runs only on a torch where ``weights_only=True`` is safe
(CVE-2025-32434 bypasses it up to torch 2.5.1). Downloads follow one policy (`downloads`): a received model
folder loads with the network off unless the caller allows it, and URL downloads time out.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import torch

from transferkit.backbones.base import weights_sha256
from transferkit.errors import BackboneError

SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")
SAFE_TORCH = (2, 6)  # torch.load(weights_only=True) is bypassable up to 2.5.1 (CVE-2025-32434)
DOWNLOAD_TIMEOUT_S = 30.0  # a URL download that hears nothing for this long fails instead of hanging offline

_downloads_allowed: ContextVar[bool] = ContextVar("transferkit_downloads_allowed", default=True)


def _release(version: str) -> tuple[int, int]:
    major, minor = [*version.split("+")[0].split("."), "0"][:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def require_safe_torch() -> None:
    """Refuse to unpickle anything on a torch whose ``weights_only=True`` can be bypassed."""
    if _release(torch.__version__) < SAFE_TORCH:
        raise BackboneError(
            f"torch {torch.__version__} cannot load .pth / .bin files safely (CVE-2025-32434 bypasses "
            "weights_only=True up to 2.5.1); upgrade with: pip install 'torch>=2.6', or convert the file to "
            "safetensors."
        )


def torch_load_weights(path: str | Path):
    """``torch.load(path, weights_only=True)`` on CPU, after checking that this torch makes that safe."""
    require_safe_torch()
    return torch.load(path, map_location="cpu", weights_only=True)


def load_state_dict_file(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """Read a weights file into a state dict; returns (state dict, SHA-256 of the file).

    safetensors files are read directly; `.pth` / `.pt` / `.bin` / `.ckpt` with
    ``torch.load(weights_only=True)``, so a pickle that needs arbitrary code raises BackboneError.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise BackboneError(f"Weights file {path} does not exist; pass an existing .safetensors (or .pth) file.")
    suffix = path.suffix.lower()
    if suffix in SAFE_SUFFIXES:
        from safetensors.torch import load_file

        state = load_file(str(path))
    elif suffix in PICKLE_SUFFIXES:
        try:
            state = torch_load_weights(path)
        except (pickle.UnpicklingError, RuntimeError, AttributeError, ValueError) as exc:
            raise BackboneError(
                f"Refusing to load {path}: it is a pickle that needs arbitrary code to load (torch.load with "
                f"weights_only=True failed: {str(exc).splitlines()[0][:200]}). Convert it to safetensors on a "
                "machine where you trust the file: safetensors.torch.save_file(torch.load(f), 'weights.safetensors')."
            ) from None
        for key in WRAPPER_KEYS:  # training checkpoints wrap the weights one level down
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
    else:
        raise BackboneError(f"{path} is not a weights file transferkit reads; use .safetensors (or .pth / .bin).")
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise BackboneError(f"{path} does not hold a state dict (a mapping of names to tensors).")
    return state, weights_sha256(path)


def load_into(model: torch.nn.Module, path: str | Path, *, spec: str) -> str:
    """Load a weights file strictly into `model` (ignoring a `module.` prefix); returns the file's SHA-256."""
    state, checksum = load_state_dict_file(path)
    if state and all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise BackboneError(
            f"{path} does not match '{spec}': {len(result.missing_keys)} missing tensor(s) "
            f"(e.g. {', '.join(result.missing_keys[:3]) or '-'}) and {len(result.unexpected_keys)} unexpected "
            f"(e.g. {', '.join(result.unexpected_keys[:3]) or '-'}); pass the weights saved from this architecture."
        )
    return checksum


def hub_offline() -> bool:
    """Whether hub / URL weights must come from local caches: HF_HUB_OFFLINE is set, or downloads are off here."""
    return not _downloads_allowed.get() or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


@contextlib.contextmanager
def downloads(*, allowed: bool) -> Iterator[None]:
    """Allow or forbid downloads of pretrained weights for the backbones built inside (restored on exit).

    Example:
        >>> with downloads(allowed=False):  # a received model folder: local files and caches only
        ...     hub_offline()
        True
    """
    token = _downloads_allowed.set(allowed and _downloads_allowed.get())  # nested code cannot re-open the network
    try:
        yield
    finally:
        _downloads_allowed.reset(token)


@contextlib.contextmanager
def download_timeout(seconds: float | None = None) -> Iterator[None]:
    """A socket timeout for URL downloads (torchvision / timm weights) that set none, restored on exit."""
    seconds = seconds or float(os.environ.get("TRANSFERKIT_DOWNLOAD_TIMEOUT", DOWNLOAD_TIMEOUT_S))
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds if previous is None else min(previous, seconds))
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def torch_hub_file_cached(url: str) -> bool:
    """Whether torch.hub already holds the file a weights URL downloads to."""
    return (Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]).is_file()


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache as the environment names it now (HF_HUB_CACHE, else HF_HOME/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def hub_cached_file(repo_id: str, filenames: tuple[str, ...]) -> str | None:
    """The local path of the first of `filenames` of a hub repo already in the hub cache, else None."""
    from huggingface_hub import try_to_load_from_cache

    cache = hub_cache_dir()
    for name in filenames:
        path = try_to_load_from_cache(repo_id, name, cache_dir=cache)
        if isinstance(path, str):
            return path
    return None


def offline_error(spec: str, exc: BaseException | None = None) -> BackboneError:
    """The one error for weights that need a model hub that cannot be reached, saying how to supply them."""
    if not _downloads_allowed.get():
        reason = "downloads are off while loading a model folder (pass --allow-download / allow_download=True)"
    elif hub_offline():
        reason = "HF_HUB_OFFLINE is set"
    else:
        reason = "the model hub could not be reached"
    detail = f" ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})" if exc is not None and str(exc) else ""
    return BackboneError(
        f"Pretrained weights for '{spec}' must be downloaded, but {reason}{detail}. Supply them locally: "
        f"'{spec}@weights.safetensors' (or the weights= option) for a weights file, 'path:DIR' for a folder saved "
        "by transferkit, transformers or timm, or put them in the hub cache (HF_HOME / TORCH_HOME) on a machine "
        "with network access and copy it here; or pick an offline backbone (`transferkit backbones`, bundled:*)."
    )
