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

from typing import TYPE_CHECKING

from transferkit.lazy_exports import lazy_exports

# Names load on first use (PEP 562), so that `import transferkit.runtime` (the torch-free bundle runtime) does not
# pull in torch, transformers and Lightning through this file.
_LAZY = {
    "AdaptResult": "transferkit.adaptation",
    "ShiftReport": "transferkit.adaptation",
    "adapt": "transferkit.adaptation",
    "shift": "transferkit.adaptation",
    "FitResult": "transferkit.api",
    "demo": "transferkit.api",
    "evaluate": "transferkit.api",
    "fit": "transferkit.api",
    "predict": "transferkit.api",
    "predict_batch": "transferkit.api",
    "load_model": "transferkit.artifacts",
    "save_model": "transferkit.artifacts",
    "Backbone": "transferkit.backbones",
    "WeightsCfg": "transferkit.backbones",
    "create_backbone": "transferkit.backbones",
    "list_backbones": "transferkit.backbones",
    "register_backbone": "transferkit.backbones",
    "RunSpec": "transferkit.config",
    "extract_features": "transferkit.embedding_cache",
    "ArtifactError": "transferkit.errors",
    "BackboneError": "transferkit.errors",
    "ConfigError": "transferkit.errors",
    "DataError": "transferkit.errors",
    "MissingDependencyError": "transferkit.errors",
    "NotFittedError": "transferkit.errors",
    "TransferKitError": "transferkit.errors",
    "ForecastResult": "transferkit.forecasting",
    "forecast": "transferkit.forecasting",
    "TransferModel": "transferkit.models.transfer_model",
    "Budget": "transferkit.ranking",
    "Ranking": "transferkit.ranking",
    "Shortlist": "transferkit.ranking",
    "rank": "transferkit.ranking",
    "recommend": "transferkit.ranking",
    "Strategy": "transferkit.strategies",
    "register_strategy": "transferkit.strategies",
    "__version__": "transferkit.version",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # static checkers and IDEs see the real imports
    from transferkit.adaptation import AdaptResult, ShiftReport, adapt, shift
    from transferkit.api import FitResult, demo, evaluate, fit, predict, predict_batch
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
    "predict_batch",
    "rank",
    "recommend",
    "register_backbone",
    "register_strategy",
    "save_model",
    "shift",
]
