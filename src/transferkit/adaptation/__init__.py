"""Domain adaptation: measure a shift between datasets (`shift`) and adapt a model across it (`adapt`).

Methods (registry in `methods`): source-only, adabn, dann, coral, mmd, self-training, finetune.
Candidates are ranked without target labels by DEV or importance-weighted validation (`selection`).
"""

from transferkit.adaptation.api import AdaptResult, adapt, shift
from transferkit.adaptation.losses import GradientReversal, coral_loss, multi_kernel_mmd
from transferkit.adaptation.methods import (
    AdaptationProblem,
    AdaptedHead,
    Method,
    available_methods,
    get_method,
    register_method,
)
from transferkit.adaptation.shift import ShiftReport, measure_shift
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
