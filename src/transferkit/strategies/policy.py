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

import numpy as np

# Upper bounds (inclusive) of examples in the smallest class; the last bucket is everything above.
SIZE_BUCKETS = (("tiny", 8), ("small", 24), ("medium", 64))
TINY = "tiny"
# Without a recorded entry: cheap and robust first (the order auto used before the policy existed).
FALLBACK_ORDER = ("probe", "two-stage", "contrastive", "classic", "concat")
# Images whose shorter side is at most this many pixels as stored (scans of digits, thumbnails, 25x25 faces) are
# "low" resolution: their raw pixels are few and informative, so the classic pixel features can carry as much as
# an ImageNet backbone's (measured: benchmarks/default_policy.py records image entries per resolution too).
LOW_RESOLUTION_SIDE = 32
RESOLUTION_SAMPLE = 16  # image headers read to judge a data set's native resolution (the median shorter side)


def size_bucket(per_class: int) -> str:
    """The policy's bucket for data whose smallest class has `per_class` labelled examples."""
    for name, upper in SIZE_BUCKETS:
        if per_class <= upper:
            return name
    return "large"


def backbone_family(backbone_spec: str) -> str:
    """The family a backbone spec belongs to in the policy (the spec without options, lower case)."""
    return backbone_spec.split("?")[0].strip().lower()


def native_resolution(paths: list[str]) -> str | None:
    """ "low" when the median shorter side of up to `RESOLUTION_SAMPLE` of these image files (evenly spaced) is at
    most `LOW_RESOLUTION_SIDE` pixels, else "high"; None when none can be read (only headers are read)."""
    from PIL import Image

    step = max(1, len(paths) // RESOLUTION_SAMPLE)
    sides = []
    for path in paths[::step][:RESOLUTION_SAMPLE]:
        try:
            with Image.open(path) as image:
                sides.append(min(image.size))
        except (OSError, ValueError):  # not an image file here: the prior falls back to the modality's entry
            continue
    if not sides:
        return None
    return "low" if float(np.median(sides)) <= LOW_RESOLUTION_SIDE else "high"


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
    inputs: list[str] | None = None,
) -> Prior:
    """The recorded ranking for this data: the exact family's entry, else the modality's (family ``*``).

    Entries are for `task` (an entry without a ``task`` key is classification's); `bucket`, when given, replaces
    the bucket of `per_class` (regression counts training rows, `strategies.auto_regression.regression_bucket`).
    Where entries are recorded per native resolution (images), `inputs` (the training files) give it: the entry for
    it (``resolution`` "low" or "high") comes before the family's entry over all resolutions.
    """
    policy = load_policy() if policy is None else policy
    bucket = bucket or size_bucket(per_class)
    family = backbone_family(backbone_spec)
    entries = [
        e
        for e in policy.get("entries", [])
        if e["modality"] == modality and e["bucket"] == bucket and e.get("task", "classification") == task
    ]
    # Only a modality with entries per resolution (images) reads its files' headers
    resolution = native_resolution(inputs) if inputs and any(e.get("resolution") for e in entries) else None
    for wanted in (family, "*"):
        for wanted_resolution in dict.fromkeys([resolution, None]):
            for entry in entries:
                if entry["family"] == wanted and entry.get("resolution") == wanted_resolution:
                    return _prior_of(entry, modality, bucket, task)
    return Prior(ranking=list(FALLBACK_ORDER), bucket=bucket, source="fallback order (no recorded entry)")


def _prior_of(entry: dict[str, Any], modality: str, bucket: str, task: str) -> Prior:
    ranked = entry["ranking"]
    where = f" / {entry['resolution']} resolution" if entry.get("resolution") else ""
    return Prior(
        ranking=[row["strategy"] for row in ranked],
        bucket=bucket,
        source=f"policy {modality} / {entry['family']} / {bucket}{where}"
        + ("" if task == "classification" else f" ({task})"),
        evidence={row["strategy"]: {k: v for k, v in row.items() if k != "strategy"} for row in ranked},
    )
