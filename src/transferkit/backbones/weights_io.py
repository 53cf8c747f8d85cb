"""Loading weights files safely (safetensors, or torch.load with weights_only=True) and explaining offline failures.

A `.pth` / `.bin` file that needs arbitrary code to unpickle is refused: transferkit never runs code
from a weights file a user hands it.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from transferkit.backbones.base import weights_sha256
from transferkit.errors import BackboneError

SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")


def load_state_dict_file(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """Read a weights file into a state dict; returns (state dict, SHA-256 of the file).

    safetensors files are read directly; `.pth` / `.pt` / `.bin` / `.ckpt` with
    ``torch.load(weights_only=True)``, so a pickle that needs arbitrary code raises BackboneError.

    Example:
        >>> state, checksum = load_state_dict_file("resnet18.safetensors")  # doctest: +SKIP
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
            state = torch.load(path, map_location="cpu", weights_only=True)
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
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache as the environment names it now (HF_HUB_CACHE, else HF_HOME/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def hub_file_cached(repo_id: str, filenames: tuple[str, ...]) -> bool:
    """Whether one of `filenames` of a hub repo is already in the local hub cache."""
    from huggingface_hub import try_to_load_from_cache

    cache = hub_cache_dir()
    return any(isinstance(try_to_load_from_cache(repo_id, name, cache_dir=cache), str) for name in filenames)


def offline_error(spec: str, exc: BaseException | None = None) -> BackboneError:
    """The one error for weights that need a model hub that cannot be reached, saying how to supply them."""
    reason = "HF_HUB_OFFLINE is set" if hub_offline() else "the model hub could not be reached"
    detail = f" ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})" if exc is not None and str(exc) else ""
    return BackboneError(
        f"Pretrained weights for '{spec}' must be downloaded, but {reason}{detail}. Supply them locally: "
        f"'{spec}@weights.safetensors' (or the weights= option) for a weights file, 'path:DIR' for a folder saved "
        "by transferkit, transformers or timm, or put them in the hub cache (HF_HOME / TORCH_HOME) on a machine "
        "with network access and copy it here; or pick an offline backbone (`transferkit backbones`, bundled:*)."
    )
