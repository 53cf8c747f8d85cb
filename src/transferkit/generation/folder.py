"""The model folder of a language-model run (runs/NAME/model/) and how it loads again.

A LoRA run saves only its adapter: ``adapter/adapter_model.safetensors`` + ``adapter_config.json`` (peft's
format), next to model.json recording the base model's spec, source and weights checksum and the adapter
file's SHA-256. Loading rebuilds the base through the backbones registry, refuses a base whose checksum differs
from the one trained on, and checks the adapter's bytes. A full fine-tune, or a LoRA run saved with --merge,
saves the whole model in ``weights/`` as a plain transformers folder (safetensors), loadable as ``hf:`` too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from transferkit.backbones.base import WeightsCfg, sha256_file
from transferkit.backbones.hf_hub import quiet_transformers
from transferkit.errors import ArtifactError, require
from transferkit.generation.lm import LanguageModel, load_base, prepare_tokenizer
from transferkit.run_folder import write_json

logger = logging.getLogger("transferkit")
MANIFEST = "model.json"
ADAPTER_DIR = "adapter"
WEIGHTS_DIR = "weights"
ADAPTER_FILE = "adapter_model.safetensors"
WEIGHTS_FILE = "model.safetensors"
LM_TASKS = ("causal-lm", "seq2seq-pairs")


def save_model(folder: Path, lm: LanguageModel, *, base: dict[str, str], record: dict[str, Any], merge: bool) -> Path:
    """Write the model folder: the adapter (or the whole model when full / merged) and model.json."""
    folder.mkdir(parents=True, exist_ok=True)
    model = lm.model
    is_peft = hasattr(model, "peft_config")
    if is_peft and not merge:
        model.save_pretrained(folder / ADAPTER_DIR, safe_serialization=True)
        saved = {"kind": "lora", "file": f"{ADAPTER_DIR}/{ADAPTER_FILE}"}
    else:
        if is_peft:  # --merge: fold the adapter into the base weights (peft's merge_and_unload)
            model = model.merge_and_unload()
        model.save_pretrained(folder / WEIGHTS_DIR, safe_serialization=True)
        lm.tokenizer.save_pretrained(folder / WEIGHTS_DIR)
        saved = {"kind": "merged-lora" if is_peft else "full", "file": f"{WEIGHTS_DIR}/{WEIGHTS_FILE}"}
    saved["sha256"] = sha256_file(folder / saved["file"])
    write_json(folder / MANIFEST, {**record, "base": base, "weights": saved})
    return folder


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ArtifactError(
            f"{path} is missing or unreadable; pass a model folder written by transferkit fit."
        ) from None
    if (manifest.get("task") or {}).get("name") not in LM_TASKS:
        raise ArtifactError(f"{folder} is not a language-model folder (task {manifest.get('task')}); see model.json.")
    return manifest


def _check_file(folder: Path, saved: dict[str, Any]) -> Path:
    path = folder / saved["file"]
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; the model folder is incomplete (copy it again, or refit).")
    if sha256_file(path) != saved["sha256"]:
        raise ArtifactError(f"{path} does not match the checksum in model.json; it was changed or damaged.")
    return path


def load_model(folder: str | Path) -> tuple[LanguageModel, dict[str, Any]]:
    """The adapted model of a model folder and its manifest (checksums verified, the adapter on its own base)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    saved, base = manifest["weights"], manifest["base"]
    path = _check_file(folder, saved)
    if saved["kind"] != "lora":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quiet_transformers()
        local = {"local_files_only": True, "trust_remote_code": False}
        model = AutoModelForCausalLM.from_pretrained(path.parent, **local)
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path.parent, **local), spec=str(folder))
        weights = WeightsCfg(
            source=f"{folder} ({saved['kind']} of {base['spec']})",
            checksum=saved["sha256"],
            licence="as the base model",
            preprocessing={},
        )
        return LanguageModel(model.eval(), tokenizer, str(folder), weights), manifest
    lm = load_base(base["spec"])
    if lm.weights.checksum != base["checksum"]:
        raise ArtifactError(
            f"The adapter in {folder} was trained on {base['spec']} with weights {base['checksum'][:12]}..., but "
            f"that spec now loads weights {lm.weights.checksum[:12]}...; give it the same base model."
        )
    peft = require("peft", extra="lora", purpose="Loading a LoRA adapter")
    lm.model = peft.PeftModel.from_pretrained(lm.model, path.parent, is_trainable=False).eval()
    return lm, manifest
