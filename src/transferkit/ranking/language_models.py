"""`transferkit rank CORPUS --task causal-lm`: rank causal LMs on your own texts by zero-shot held-out bits per byte.

A language model's transfer starts from how well it already predicts the domain: the candidate that needs the
fewest bits per byte of your texts before any training is the first one to try. benchmarks/lm_transfer.py's rank
arm checks the order against the order after a short LoRA run: a broken model (SmolLM2 cut to 10 layers) was last
both ways, but Gemma 3 270M, second zero-shot, overtook SmolLM2-135M after 7 LoRA steps, hence the caveat on
much larger candidates. Bits per byte (and per character), not per-token perplexity, so that models with
different tokenizers compare fairly. Backbones that do not generate text (sentence encoders, image models) are
listed as refused, with the reason.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

from transferkit.backbones import backbone_entry, can_generate, list_backbones
from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec
from transferkit.errors import BackboneError, ConfigError, MissingDependencyError
from transferkit.generation.corpus import read_pairs, read_texts
from transferkit.generation.lm import load_base
from transferkit.generation.scoring import bits_per_byte
from transferkit.ranking.budget import Budget
from transferkit.ranking.measure import PeakMemory, parse_params
from transferkit.ranking.ranker import CandidateScore, Ranking

LM_TASKS = ("causal-lm", "seq2seq-pairs")
SCORE = "bits_per_byte"
SCORES = ("bits_per_byte", "bits_per_char", "token_perplexity", "tokens_per_byte")
SIZE_RATIO = 1.5  # a candidate this many times larger than the pick gets a caveat (see size_caveats)
DEFAULT_TEXTS = 64  # zero-shot scoring is a forward pass per block: 64 reviews take ~1 minute for SmolLM2 on 2 cores


def ranking_texts(spec: RunSpec) -> list[str]:
    """The texts the candidates are scored on: the corpus (causal-lm) or each pair as prompt, newline, response
    (seq2seq-pairs), the first --limit of them (default 64)."""
    path = spec.data.path
    if spec.data.task == "causal-lm":
        texts = read_texts(path, text_column=spec.data.text_column)
    else:
        pairs = read_pairs(
            path,
            prompt_column=spec.data.prompt_column,
            response_column=spec.data.response_column,
            template=spec.data.prompt_template,
        )
        texts = [f"{pair.prompt}\n{pair.response}" for pair in pairs]
    return texts[: spec.data.limit or DEFAULT_TEXTS]


def default_candidates() -> list[str]:
    """Every offline text backbone: the generating ones are scored, the others listed as refused."""
    return [entry.name for entry in list_backbones(modality="text") if entry.offline]


def refusal(spec: str) -> str | None:
    """Why a candidate cannot be ranked for a language-model task (None: it generates text)."""
    if can_generate(spec):
        return None
    try:
        entry = backbone_entry(spec)
        kind = f"a {entry.modality} model ({entry.description})" if entry.description else f"a {entry.modality} model"
    except BackboneError as exc:
        return str(exc)
    return f"refused: {kind} that does not generate text; language-model tasks need a causal LM"


def score_candidate(name: str, texts: list[str], spec: RunSpec) -> CandidateScore:
    """Zero-shot bits per byte / per character of one causal LM on `texts`, with its size, time and memory."""
    row = CandidateScore(spec=name)
    gc.collect()
    with PeakMemory() as memory:
        try:
            lm = load_base(name)
        except (BackboneError, ConfigError, MissingDependencyError, OSError) as exc:
            row.error = str(exc)
            return row
        block = min(spec.backbone.max_length, lm.context_window)
        started = time.perf_counter()
        scored = bits_per_byte(
            lm.model,
            lm.tokenizer,
            texts,
            block_size=block,
            batch_size=spec.backbone.batch_size or 8,
            precision=spec.optim.precision,
        )
        row.scores = {key: scored[key] for key in SCORES}
        row.score_seconds = row.embed_seconds = round(time.perf_counter() - started, 2)  # one forward pass per block
    row.peak_memory_mb = memory.peak_mb
    row.params_m = sum(p.numel() for p in lm.model.parameters()) / 1e6
    row.weights_mb = sum(p.numel() * p.element_size() for p in lm.model.parameters()) / 1e6
    return row


def size_caveats(rows: list[CandidateScore], pick: CandidateScore | None) -> list[str]:
    """A warning when a usable candidate is much larger than the pick: in benchmarks/lm_transfer.py Gemma 3 270M
    (2x SmolLM2-135M's parameters, 25% more bits per byte zero-shot) overtook SmolLM2 after 7 LoRA steps."""
    if pick is None or not pick.params_m:
        return []
    larger = [row for row in rows if row.usable and (row.params_m or 0) >= SIZE_RATIO * pick.params_m]
    return [
        f"{row.spec} has {row.params_m / pick.params_m:.1f}x the parameters of {pick.spec}: a larger model can "
        "overtake the pick after a short adaptation; fit both briefly (--max-minutes) before committing."
        for row in larger
    ]


def _key(row: CandidateScore) -> tuple:
    value = row.scores.get(SCORE)
    return (row.error is not None, bool(row.over_budget), value is None, value or 0.0, row.spec)


def rank_language_models(
    spec: RunSpec, *, candidates: Sequence[str | Backbone] | None, budget: Budget, confirm: int = 0
) -> Ranking:
    """Score every candidate causal LM on the run's texts; the fewest bits per byte within the budget is picked."""
    if confirm:
        raise ConfigError(
            "--confirm fine-tunes classifiers; for a language model, fit the top candidates with "
            "`transferkit fit DATA --task causal-lm --backbone SPEC` and compare their held-out perplexity."
        )
    started = time.perf_counter()
    texts = ranking_texts(spec)
    names = [c.spec if isinstance(c, Backbone) else c for c in (candidates or default_candidates())]
    rows = []
    for name in names:
        reason = refusal(name)
        listed = parse_params(backbone_entry(name).parameters) if reason is None else None
        if reason is not None:
            rows.append(CandidateScore(spec=name, error=reason))
        elif listed is not None and budget.violations(params_m=listed):
            rows.append(CandidateScore(spec=name, params_m=listed, over_budget=budget.violations(params_m=listed)))
        else:
            row = score_candidate(name, texts, spec)
            if row.error is None:
                row.over_budget = budget.violations(memory_mb=row.memory_mb, params_m=row.params_m)
            rows.append(row)
    rows.sort(key=_key)
    best = next((row for row in rows if row.usable and row.scores.get(SCORE) is not None), None)
    data: dict[str, Any] = {
        "source": str(spec.data.path),
        "modality": "text",
        "task": spec.data.task,
        "examples": len(texts),
        "bytes": sum(len(text.encode("utf-8")) for text in texts),
        "block_size": spec.backbone.max_length,
    }
    caveats = ["Zero-shot bits per byte (lower is better) measure how well each model predicts these texts before "
               "any training, not how far it will adapt.", *size_caveats(rows, best)]  # fmt: skip
    return Ranking(
        rows=rows,
        by=SCORE,
        recommended=best.spec if best else None,
        budget=budget,
        data=data,
        seconds=time.perf_counter() - started,
        caveats=caveats,
        score_pick=best.spec if best else None,
        picked_by=f"{SCORE} (zero-shot, lower is better)",
    )
