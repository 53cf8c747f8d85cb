"""Transfer strategies, looked up by name (`--strategy two-stage`)."""

from transferkit.strategies import auto as _auto  # noqa: F401  (registers "auto")
from transferkit.strategies import contrastive as _contrastive  # noqa: F401  (registers "contrastive")
from transferkit.strategies import finetune as _finetune  # noqa: F401  (registers finetune, two-stage, ...)
from transferkit.strategies import lora as _lora  # noqa: F401  (registers "lora")
from transferkit.strategies import probe as _probe  # noqa: F401  (registers "probe")
from transferkit.strategies.base import (
    Strategy,
    StrategyResult,
    available_strategies,
    get_strategy,
    register_strategy,
)

__all__ = ["Strategy", "StrategyResult", "available_strategies", "get_strategy", "register_strategy"]
