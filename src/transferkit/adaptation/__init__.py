"""Domain adaptation: measure a shift between datasets (`shift`) and adapt a model across it (`adapt`).

Methods (registry in `methods`): source-only, adabn, dann, coral, mmd, self-training, finetune.
Candidates are ranked without target labels by DEV or importance-weighted validation (`selection`).
"""

from typing import TYPE_CHECKING

from transferkit.lazy_exports import lazy_exports

# `transferkit adapt --help` imports this package through adaptation.cli: the names load on first use.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AdaptResult": "transferkit.adaptation.api",
        "adapt": "transferkit.adaptation.api",
        "shift": "transferkit.adaptation.api",
        "GradientReversal": "transferkit.adaptation.losses",
        "coral_loss": "transferkit.adaptation.losses",
        "multi_kernel_mmd": "transferkit.adaptation.losses",
        "AdaptationProblem": "transferkit.adaptation.methods",
        "AdaptedHead": "transferkit.adaptation.methods",
        "Method": "transferkit.adaptation.methods",
        "available_methods": "transferkit.adaptation.methods",
        "get_method": "transferkit.adaptation.methods",
        "register_method": "transferkit.adaptation.methods",
        "ShiftReport": "transferkit.adaptation.domain_shift",
        "measure_shift": "transferkit.adaptation.domain_shift",
        "dev_risk": "transferkit.adaptation.unsupervised_validation",
        "importance_weights": "transferkit.adaptation.unsupervised_validation",
        "iwv_risk": "transferkit.adaptation.unsupervised_validation",
        "unsupervised_risk": "transferkit.adaptation.unsupervised_validation",
    },
    globals(),
)

if TYPE_CHECKING:  # static checkers and IDEs see the real imports
    from transferkit.adaptation.api import AdaptResult, adapt, shift
    from transferkit.adaptation.domain_shift import ShiftReport, measure_shift
    from transferkit.adaptation.losses import GradientReversal, coral_loss, multi_kernel_mmd
    from transferkit.adaptation.methods import (
        AdaptationProblem,
        AdaptedHead,
        Method,
        available_methods,
        get_method,
        register_method,
    )
    from transferkit.adaptation.unsupervised_validation import dev_risk, importance_weights, iwv_risk, unsupervised_risk

__all__ = [
    "AdaptResult",
    "AdaptationProblem",
    "AdaptedHead",
    "GradientReversal",
    "Method",
    "ShiftReport",
    "adapt",
    "available_methods",
    "coral_loss",
    "dev_risk",
    "get_method",
    "importance_weights",
    "iwv_risk",
    "measure_shift",
    "multi_kernel_mmd",
    "register_method",
    "shift",
    "unsupervised_risk",
]
