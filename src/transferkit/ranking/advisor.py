"""A static shortlist of backbones for a task, from registry metadata and the measured speed here.

No data is needed: the shortlist comes from what each backbone is (family, size, what its weights
were trained for) and, for backbones whose weights are available offline, its single-input latency
measured on this machine. The trade-offs are stated in plain words. `rank` then measures the
shortlist on the user's own data.

Example:
    >>> shortlist = recommend(modality="text", n_samples=500, device="cpu", measure=False)
    >>> shortlist.rows[0].spec
    'bundled:minilm'
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transferkit.backbones import create_backbone, list_backbones
from transferkit.backbones.registry import BackboneEntry
from transferkit.errors import BackboneError, ConfigError, MissingDependencyError
from transferkit.modalities import available_modalities, canonical_modality, get_modality
from transferkit.ranking.budget import Budget
from transferkit.ranking.measure import PeakMemory, measure_latency, parse_params, weights_mb

DEVICES = ("cpu", "cuda")

# (pattern on spec + description, family, trade-off in plain words); the first match wins.
FAMILIES: list[tuple[str, str, str]] = [
    (
        r"^tabular:columns",
        "table columns",
        "the preprocessed columns themselves (standardised numbers, one-hot categories): nothing pretrained, "
        "the honest start for a table",
    ),
    (
        r"^tabular:",
        "tabular MLP",
        "a small MLP over the columns: transfers only after pretraining on a related source table "
        "(path:runs/X/model, --column-map for renamed columns)",
    ),
    # Speech before the text families: speech models' descriptions say "encoder" too.
    (
        r"whisper",
        "Whisper speech encoder",
        "trained to transcribe 680,000 hours of weakly labelled speech (the .en models its English part), so "
        "robust to noise and accents; every clip costs a full 30-second window, which makes short clips slow "
        "per second of audio",
    ),
    (
        r"wav2vec|hubert|wavlm",
        "self-supervised speech encoder",
        "learned from unlabelled speech (the base models: LibriSpeech's 960 hours of read English): strong on "
        "what is said and who says it; cost grows with clip length",
    ),
    (
        r"\baudio\b|\bspeech\b|\bsound\b|\bast\b",
        "audio encoder",
        "a pretrained audio encoder: frozen features transfer to keyword and sound classification",
    ),
    (
        r"gpt|llama|smollm|causal|decoder|mistral|qwen|phi",
        "GPT-style decoder",
        "a causal language model: strongest for generation-heavy tasks; for classification its last-token "
        "states work but a bidirectional encoder of the same size usually does as well for less compute",
    ),
    (
        r"minilm|bert|roberta|electra|deberta|mpnet|sentence|encoder",
        "contextual encoder (BERT family)",
        "a bidirectional contextual encoder: the default for understanding tasks (classification, matching, "
        "retrieval); small sentence encoders such as MiniLM give strong embeddings at CPU speed",
    ),
    (
        r"efficientnet|mobilenet|lite|mnas|ghostnet|mobilevit|regnetx_00|lcnet",
        "small mobile CNN",
        "a small mobile network: low CPU latency and memory, the safe pick for CPU inference and small data",
    ),
    (
        r"inception|xception|googlenet",
        "Inception",
        "Inception's parallel branches see several scales at once (multi-scale features), which helps when "
        "objects vary in size; heavier than mobile networks",
    ),
    (
        r"resnet|resnext|wide_resnet|densenet",
        "deep residual CNN",
        "a deep residual network: robust, well-understood features; deeper variants (101, 152) cost much "
        "more memory and time per image for a modest gain",
    ),
    (
        r"vit|deit|swin|beit|eva|convnext|clip|dino",
        "vision transformer / modern CNN",
        "large pretrained vision models transfer best when data and a GPU allow; slow on CPU",
    ),
]
GENERIC = ("other", "a pretrained backbone without a known family note")


@dataclass
class Recommendation:
    """One shortlisted backbone with its size, measured speed and the trade-off in words."""

    spec: str
    family: str
    params_m: float | None
    offline: bool
    latency_ms: float | None
    memory_mb: float | None
    why: str
    over_budget: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Shortlist:
    """The advisor's answer: fitting backbones first (rows), those ruled out by the budget, and advice."""

    modality: str
    n_samples: int
    device: str
    rows: list[Recommendation]
    excluded: list[Recommendation]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def family_of(entry: BackboneEntry) -> tuple[str, str]:
    """The family and its trade-off note for a registry entry (matched on its spec and description)."""
    text = f"{entry.name} {entry.description}".lower()
    for pattern, family, why in FAMILIES:
        if re.search(pattern, text):
            return family, why
    return GENERIC


def strategy_advice(n_samples: int, device: str) -> str:
    """What to train, for this much labelled data: frozen features first, fine-tuning as data grows."""
    if n_samples < 200:
        advice = (
            f"With {n_samples} labelled examples, train a head on frozen features (--strategy probe): "
            "fine-tuning the backbone overfits and costs far more at this size."
        )
    elif n_samples < 5000:
        advice = (
            f"With {n_samples} labelled examples, start with a probe on frozen features; a two-stage "
            "fine-tune (head first, then the top layers) usually adds a few points."
        )
    else:
        advice = (
            f"With {n_samples} labelled examples, fine-tuning (two-stage or full) usually pays off over a frozen probe."
        )
    if device == "cpu" and n_samples >= 200:
        advice += " On a CPU, fine-tuning a backbone over 25M parameters is slow: prefer the small ones."
    return advice


def _measure(entry: BackboneEntry, device: str, sample: list[str] | None) -> tuple[float | None, float | None]:
    """Single-input latency (ms) and peak memory (MB) of an offline backbone on this machine."""
    if not entry.offline or sample is None:
        return None, None
    try:
        with PeakMemory() as memory:
            backbone = create_backbone(entry.name)
            latency = measure_latency(backbone, sample, device=device)
    except (BackboneError, MissingDependencyError, OSError):
        return None, None
    return latency, max(memory.peak_mb, weights_mb(backbone))


def _for_task(entries: list, modality: str, *, generate: bool, detect: bool, notes: list[str]) -> list:
    """The entries that suit `--generate` (causal LMs) or `--detect` (detector bodies), with a note saying so."""
    if generate:
        entries = [entry for entry in entries if entry.generates]
        notes.append(
            "Only backbones that generate text are listed; adapt one with `transferkit fit DATA --task causal-lm` "
            "(or seq2seq-pairs) and run it with `transferkit generate`."
        )
    if detect:
        entries = _detection_entries(entries, modality)
        notes.append(
            "Only backbones that can carry a detector (FCOS / RetinaNet / Faster R-CNN / SSDlite heads over their "
            "feature maps) are listed; train one with `transferkit fit DATA --task detection --backbone SPEC`."
        )
    return entries


def _detection_entries(entries: list, modality: str) -> list:
    """The registered backbones a detector can sit on (transferkit.detection decides: feature pyramids need CNN
    stages); detection is for images only."""
    from transferkit.detection.detectors import has_feature_pyramid

    if modality != get_modality("image").name:
        raise ConfigError(f"--detect lists image backbones for object detection; {modality} data has no boxes.")
    return [entry for entry in entries if has_feature_pyramid(entry.name)]


def recommend(
    *,
    modality: str,
    n_samples: int,
    device: str = "cpu",
    budget: Budget | str | None = None,
    measure: bool = True,
    generate: bool = False,
    detect: bool = False,
) -> Shortlist:
    """A shortlist of registered backbones for a task, smallest first on CPU and largest first on CUDA.

    Args:
        modality: image, text, audio or tabular.
        n_samples: How many labelled examples the task has (drives the strategy advice).
        device: cpu or cuda: where the model will run; latency is measured there when it exists here.
        budget: A `Budget` or text (``"latency=50ms,params=10M"``); backbones over it move to `excluded`.
        measure: Load offline backbones to measure latency and memory (a few seconds each).
        generate: Only backbones that generate text (causal LMs, for fit --task causal-lm / seq2seq-pairs).
        detect: Only image backbones that can carry a detector (fit --task detection).

    Returns:
        Shortlist with rows (fitting the budget), excluded (with reasons) and plain-words notes.

    Example:
        >>> shortlist = recommend(modality="image", n_samples=100, budget="params=10M", measure=False)
        >>> shortlist.rows[0].spec
        'bundled:mobilenet_v2'
    """
    modality = canonical_modality(modality)
    if modality not in available_modalities():
        choices = ", ".join(available_modalities())
        raise ConfigError(f"The 'modality' option must be one of {choices}. Got '{modality}'.")
    if device not in DEVICES:
        raise ConfigError(f"The 'device' option must be one of {', '.join(DEVICES)}. Got '{device}'.")
    if n_samples < 1:
        raise ConfigError(f"The 'n-samples' option must be a positive count of labelled examples. Got {n_samples}.")
    budget = budget if isinstance(budget, Budget) else Budget.parse(budget)
    notes = [strategy_advice(n_samples, device)]
    import torch

    measure_device = device
    if device == "cuda" and not torch.cuda.is_available():
        measure_device = None
        notes.append("No CUDA device here: latency is not measured; CUDA latency is far lower than CPU latency.")
    entries = _for_task(list_backbones(modality=modality), modality, generate=generate, detect=detect, notes=notes)
    if get_modality(modality).backbone_advice:
        notes.append(get_modality(modality).backbone_advice)
    if not entries:
        notes.append(f"No {modality} backbone is registered yet; `transferkit backbones` lists what exists.")
    rows, excluded = [], []
    with tempfile.TemporaryDirectory() as folder:
        sample = get_modality(modality).latency_sample(Path(folder))
        for entry in entries:
            family, why = family_of(entry)
            params = parse_params(entry.parameters)
            over = budget.violations(params_m=params)
            latency = memory = None
            if measure and measure_device is not None and not over:
                latency, memory = _measure(entry, measure_device, sample)
            over = over or budget.violations(latency_ms=latency, memory_mb=memory)
            if not entry.offline:
                why += "; its weights download from a model hub on first use"
            row = Recommendation(entry.name, family, params, entry.offline, latency, memory, why, over)
            (excluded if over else rows).append(row)
    large_first = device == "cuda"
    rows.sort(key=lambda r: (not r.offline, (-1 if large_first else 1) * (r.params_m or 0.0), r.spec))
    if entries and not rows:
        notes.append("No backbone fits the budget; loosen --budget or see the excluded list.")
    if rows and not (generate or detect):  # rank scores frozen features against labels, not generation or boxes
        notes.append(
            f"Next: `transferkit rank DATA --candidates {','.join(r.spec for r in rows[:5])}` measures "
            "them on your own data."
        )
    return Shortlist(modality, n_samples, device, rows, excluded, notes)
