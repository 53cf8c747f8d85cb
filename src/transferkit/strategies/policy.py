"""The recorded prior of `--strategy auto`: which strategy wins where, measured on public data.

`policy.json` (shipped in the package, built by ``benchmarks/default_policy.py``) maps a modality, a
backbone family and a size bucket (labelled examples of the smallest class) to strategies ranked by mean
test accuracy over several public datasets and seeds, each with its margin behind the leader and the
spread (standard deviation) of that margin. `auto` spends its budget on candidates in this order and
keeps the prior's pick unless cross-validation beats it by more than its own noise.

Example:
    >>> size_bucket(5), size_bucket(16), size_bucket(300)
    ('tiny', 'small', 'large')
    >>> prior_for("text", "bundled:minilm", per_class=8).ranking[0] in {"contrastive", "two-stage", "probe", "concat"}
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

# Upper bounds (inclusive) of examples in the smallest class; the last bucket is everything above.
SIZE_BUCKETS = (("tiny", 8), ("small", 24), ("medium", 64))
TINY = "tiny"
# Without a recorded entry: cheap and robust first (the order auto used before the policy existed).
FALLBACK_ORDER = ("probe", "two-stage", "contrastive", "classic", "concat")


def size_bucket(per_class: int) -> str:
    """The policy's bucket for data whose smallest class has `per_class` labelled examples."""
    for name, upper in SIZE_BUCKETS:
        if per_class <= upper:
            return name
    return "large"


def backbone_family(backbone_spec: str) -> str:
    """The family a backbone spec belongs to in the policy (the spec without options, lower case)."""
    return backbone_spec.split("?")[0].strip().lower()


@dataclass
class Prior:
    """Strategies ranked best first for one modality / family / size, with the evidence behind the ranking."""

    ranking: list[str]
    bucket: str
    source: str  # which policy entry (or the fallback) this came from
    evidence: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> mean, margin, spread, runs

    def to_dict(self) -> dict[str, Any]:
        return {"ranking": self.ranking, "bucket": self.bucket, "source": self.source, "evidence": self.evidence}


@cache
def load_policy() -> dict[str, Any]:
    """The shipped policy (an empty one when the file is missing, e.g. a source tree without it)."""
    path = resources.files("transferkit.strategies") / "policy.json"
    if not path.is_file():
        return {"entries": []}
    return json.loads(path.read_text(encoding="utf-8"))


def prior_for(
    modality: str,
    backbone_spec: str,
    *,
    per_class: int,
    policy: dict | None = None,
    task: str = "classification",
    bucket: str | None = None,
) -> Prior:
    """The recorded ranking for this data: the exact family's entry, else the modality's (family ``*``).

    Entries are for `task` (an entry without a ``task`` key is classification's); `bucket`, when given, replaces
    the bucket of `per_class` (regression counts training rows, `strategies.auto_regression.regression_bucket`).
    """
    policy = load_policy() if policy is None else policy
    bucket = bucket or size_bucket(per_class)
    family = backbone_family(backbone_spec)
    entries = [
        e
        for e in policy.get("entries", [])
        if e["modality"] == modality and e["bucket"] == bucket and e.get("task", "classification") == task
    ]
    for wanted in (family, "*"):
        for entry in entries:
            if entry["family"] == wanted:
                ranked = entry["ranking"]
                return Prior(
                    ranking=[row["strategy"] for row in ranked],
                    bucket=bucket,
                    source=f"policy {modality} / {entry['family']} / {bucket}"
                    + ("" if task == "classification" else f" ({task})"),
                    evidence={row["strategy"]: {k: v for k, v in row.items() if k != "strategy"} for row in ranked},
                )
    return Prior(ranking=list(FALLBACK_ORDER), bucket=bucket, source="fallback order (no recorded entry)")
