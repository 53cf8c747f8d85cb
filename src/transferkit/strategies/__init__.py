"""Transfer strategies, looked up by name (`--strategy probe`)."""

from transferkit.strategies import probe as _probe  # noqa: F401  (registers "probe")
from transferkit.strategies.base import (
    Strategy,
    StrategyResult,
    available_strategies,
    get_strategy,
    register_strategy,
)

__all__ = ["Strategy", "StrategyResult", "available_strategies", "get_strategy", "register_strategy"]
