"""Resource budgets for choosing a backbone: single-input latency, memory and parameter count.

Example:
    >>> budget = Budget.parse("latency=50ms,memory=1GB,params=25M")
    >>> budget.max_memory_mb, budget.max_params_m
    (1024.0, 25.0)
    >>> budget.violations(latency_ms=80.0, memory_mb=300.0, params_m=22.7)
    ['latency 80 ms > 50 ms']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transferkit.errors import ConfigError

_ITEM = re.compile(r"^\s*(latency|memory|params)\s*[=<:]\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "latency": {"": 1.0, "ms": 1.0, "s": 1000.0},
    "memory": {"": 1.0, "mb": 1.0, "mib": 1.0, "gb": 1024.0, "gib": 1024.0, "kb": 1 / 1024, "kib": 1 / 1024},
    "params": {"": 1.0, "m": 1.0, "k": 1e-3, "b": 1e3, "g": 1e3},
}
_EXAMPLE = "e.g. --budget latency=50ms,memory=1GB,params=25M"


@dataclass(frozen=True)
class Budget:
    """Upper limits a backbone must respect; None means no limit.

    Attributes:
        max_latency_ms: Milliseconds to embed one input on this machine (measured).
        max_memory_mb: Peak memory while loading and running the backbone (measured), in MiB.
        max_params_m: Parameters, in millions.
    """

    max_latency_ms: float | None = None
    max_memory_mb: float | None = None
    max_params_m: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> Budget:
        """Read 'latency=50ms,memory=1GB,params=25M' (any subset, any order)."""
        if not text or not text.strip():
            return cls()
        values: dict[str, float] = {}
        for item in text.split(","):
            match = _ITEM.match(item)
            if not match:
                raise ConfigError(f"The 'budget' option has an unreadable part '{item.strip()}'; {_EXAMPLE}.")
            key, number, unit = match.group(1), float(match.group(2)), match.group(3).lower()
            if unit not in _UNITS[key]:
                units = ", ".join(u for u in _UNITS[key] if u)
                raise ConfigError(f"The 'budget' option's {key} unit '{unit}' is unknown; use {units} ({_EXAMPLE}).")
            values[key] = number * _UNITS[key][unit]
        return cls(
            max_latency_ms=values.get("latency"), max_memory_mb=values.get("memory"), max_params_m=values.get("params")
        )

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in (self.max_latency_ms, self.max_memory_mb, self.max_params_m))

    def violations(
        self, *, latency_ms: float | None = None, memory_mb: float | None = None, params_m: float | None = None
    ) -> list[str]:
        """Plain-words reasons a candidate is over budget (empty when it fits; unknown values are not judged)."""
        reasons = []
        if self.max_latency_ms is not None and latency_ms is not None and latency_ms > self.max_latency_ms:
            reasons.append(f"latency {latency_ms:.0f} ms > {self.max_latency_ms:g} ms")
        if self.max_memory_mb is not None and memory_mb is not None and memory_mb > self.max_memory_mb:
            reasons.append(f"memory {memory_mb:.0f} MB > {self.max_memory_mb:g} MB")
        if self.max_params_m is not None and params_m is not None and params_m > self.max_params_m:
            reasons.append(f"params {params_m:.1f}M > {self.max_params_m:g}M")
        return reasons

    def to_dict(self) -> dict[str, float | None]:
        return {
            "max_latency_ms": self.max_latency_ms,
            "max_memory_mb": self.max_memory_mb,
            "max_params_m": self.max_params_m,
        }
