"""``hf:ID_OR_DIR`` backbones: Hugging Face text encoders, causal LMs and speech encoders.

The kind is read from the model's config: speech model types get an audio encoder, causal-LM-only
types (GPT-2, Llama, ...) a decoder with last-token pooling, the rest a text encoder with mean pooling
(or CLS pooling with the ``pooling="cls"`` option). Hub ids need the network or a filled hub cache; a
local folder (``hf:./dir`` or ``path:./dir``) never touches the network. No model's own code ever runs:
``trust_remote_code=False`` everywhere, and a model whose config maps to custom code (``auto_map``) is refused.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from transferkit.backbones.base import Backbone, WeightsCfg, sha256_file, state_checksum
from transferkit.backbones.hf_audio import AudioEncoderBackbone
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.transformers_text import DecoderBackbone, TextEncoderBackbone
from transferkit.backbones.weights_io import hub_offline, load_into, offline_error
from transferkit.errors import BackboneError

AUDIO_MODEL_TYPES = frozenset(
    {
        "wav2vec2",
        "wav2vec2-conformer",
        "hubert",
        "wavlm",
        "whisper",
        "data2vec-audio",
        "unispeech",
        "unispeech-sat",
        "sew",
        "sew-d",
    }
)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
CODE_MAP_FILES = ("config.json", "tokenizer_config.json", "preprocessor_config.json")


def _remote_code_error(where: str) -> BackboneError:
    return BackboneError(
        f"{where} asks for the model's own Python code (auto_map); transferkit never runs code that comes with "
        "a model. Use a model that transformers supports natively, or save it with save_pretrained without auto_map."
    )


def refuse_remote_code(folder: Path) -> None:
    """Refuse a local transformers folder whose configs name custom code (`auto_map`), before anything reads it."""
    for name in CODE_MAP_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BackboneError(f"{path} is not valid JSON; restore the model folder.") from None
        if isinstance(config, dict) and "auto_map" in config:
            raise _remote_code_error(str(path))


def quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def model_kind(config) -> str:
    """'audio', 'decoder' or 'encoder' from a transformers config."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if config.model_type in AUDIO_MODEL_TYPES:
        return "audio"
    if (
        config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and config.model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        return "decoder"
    return "encoder"


@lru_cache(maxsize=64)
def read_hf_config(name: str, spec: str):
    """The model's config.json through transformers (cached: `read_hf_config.cache_clear()` forgets it)."""
    from transformers import AutoConfig

    quiet_transformers()
    if Path(name).is_dir():
        refuse_remote_code(Path(name))
    try:  # HF_HUB_OFFLINE and the download policy as they are now, whatever the hub library read at import
        config = AutoConfig.from_pretrained(name, local_files_only=hub_offline(), trust_remote_code=False)
    except OSError as exc:
        if Path(name).exists():
            raise BackboneError(f"{name} is not a transformers model folder (no readable config.json).") from None
        raise offline_error(spec, exc) from None
    except ValueError as exc:  # transformers refuses a config that needs its own code
        if "trust_remote_code" in str(exc):
            raise _remote_code_error(spec) from None
        raise
    if getattr(config, "auto_map", None):
        raise _remote_code_error(spec)
    return config


def hf_modality(spec: str) -> str:
    """Modality of an ``hf:`` spec, from its config (local folder or hub cache)."""
    kind = model_kind(read_hf_config(parse_spec(spec).name, spec))
    return "audio" if kind == "audio" else "text"


def _checksum(folder: Path, model) -> str:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return sha256_file(folder / name)
    return state_checksum(model)


def build_hf(
    name: str, *, spec: str, weights_file: str | None = None, max_length: int = 128, pooling: str = "mean", **_: object
) -> Backbone:
    """Load a transformers model + tokenizer / feature extractor from a hub id or a local folder."""
    from transformers import AutoFeatureExtractor, AutoModel, AutoModelForCausalLM, AutoTokenizer

    config = read_hf_config(name, spec)
    kind = model_kind(config)
    model_class = AutoModelForCausalLM if kind == "decoder" else AutoModel
    folder = Path(name)
    try:
        if weights_file is not None:
            model = model_class.from_config(config)
            checksum = load_into(model, weights_file, spec=spec)
        else:
            extra = {"add_pooling_layer": False} if kind == "encoder" and "bert" in config.model_type else {}
            model = model_class.from_pretrained(name, local_files_only=hub_offline(), trust_remote_code=False, **extra)
            checksum = _checksum(folder, model) if folder.is_dir() else state_checksum(model)
        processor_class = AutoFeatureExtractor if kind == "audio" else AutoTokenizer
        processor = processor_class.from_pretrained(name, local_files_only=hub_offline(), trust_remote_code=False)
    except OSError as exc:
        if folder.is_dir():
            raise BackboneError(f"{folder} is missing files transformers needs ({exc}).") from None
        raise offline_error(spec, exc) from None
    model.eval()
    source = f"hf:{name}" + (f" + file:{weights_file}" if weights_file else "")
    licence = str(getattr(config, "license", None) or "see the model card")
    if kind == "audio":
        pre = {"sampling_rate": int(processor.sampling_rate), "pooling": "mean over time"}
        return AudioEncoderBackbone(model, processor, spec=spec, weights_cfg=WeightsCfg(source, checksum, licence, pre))
    pre = {
        "tokenizer": type(processor).__name__,
        "max_length": int(max_length),
        "pooling": "last" if kind == "decoder" else pooling,
    }
    weights_cfg = WeightsCfg(source=source, checksum=checksum, licence=licence, preprocessing=pre)
    if kind == "decoder":
        return DecoderBackbone(model, processor, spec=spec, weights_cfg=weights_cfg)
    return TextEncoderBackbone(model, processor, spec=spec, weights_cfg=weights_cfg)


def load_hf(*, spec: str, max_length: int = 128, **options: object) -> Backbone:
    """Build ``hf:ID_OR_DIR[@FILE]``."""
    parsed = parse_spec(spec)
    return build_hf(parsed.name, spec=spec, weights_file=parsed.weights, max_length=max_length, **options)
