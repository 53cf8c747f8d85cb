"""transferkit: adapt pretrained models to small labelled datasets.

Example::

    import transferkit
    result = transferkit.fit("builtin:fine-food", limit=400)
    transferkit.predict(result.model_dir, texts=["Tasty and fresh."])
"""

import os

# torch's OpenMP threads busy-wait by default; on a shared 2-core machine that turned a ~1 s step into
# ~45 s. Passive waiting must be chosen before torch loads, so it is set here (users can override it).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transferkit.adaptation import AdaptResult, ShiftReport, adapt, shift
from transferkit.api import FitResult, demo, evaluate, fit, predict
from transferkit.artifacts import load_model, save_model
from transferkit.backbones import Backbone, WeightsCfg, create_backbone, list_backbones, register_backbone
from transferkit.config import RunSpec
from transferkit.embedding_cache import extract_features
from transferkit.errors import (
    ArtifactError,
    BackboneError,
    ConfigError,
    DataError,
    MissingDependencyError,
    NotFittedError,
    TransferKitError,
)
from transferkit.forecasting import ForecastResult, forecast
from transferkit.models.transfer_model import TransferModel
from transferkit.ranking import Budget, Ranking, Shortlist, rank, recommend
from transferkit.strategies import Strategy, register_strategy
from transferkit.version import __version__

__all__ = [
    "AdaptResult",
    "ArtifactError",
    "Backbone",
    "BackboneError",
    "Budget",
    "ConfigError",
    "DataError",
    "FitResult",
    "ForecastResult",
    "MissingDependencyError",
    "NotFittedError",
    "Ranking",
    "RunSpec",
    "ShiftReport",
    "Shortlist",
    "Strategy",
    "TransferKitError",
    "TransferModel",
    "WeightsCfg",
    "__version__",
    "adapt",
    "create_backbone",
    "demo",
    "evaluate",
    "extract_features",
    "fit",
    "forecast",
    "list_backbones",
    "load_model",
    "predict",
    "rank",
    "recommend",
    "register_backbone",
    "register_strategy",
    "save_model",
    "shift",
]
