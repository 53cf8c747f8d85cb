"""Gradient-boosted trees on disk without pickle: a skops file, loaded only when every type in it is allowed.

A model folder may come from anyone, and unpickling runs whatever code the file names. skops (`skops.io`)
stores an estimator as a JSON schema plus numpy arrays and rebuilds only the types it is told to trust:
scikit-learn's own estimators and numpy / builtin containers are trusted by skops itself, and a fitted
HistGradientBoostingClassifier needs the three more types in `ALLOWED_TYPES`. A file naming any other type
(a function to call, a class of another package) is refused with an ArtifactError before anything in it is
built, and the object built must be a HistGradientBoostingClassifier or HistGradientBoostingRegressor (the same
three extra types: checked for both on scikit-learn 1.9). The file's SHA-256 is also in
model.json like every file of the folder, so a changed byte is refused before skops reads it.

Example::

    write_trees(model.estimator, folder / TREES)
    estimator = read_trees(folder / TREES)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.errors import ArtifactError, require

TREES = "boosting.skops"
# Beyond skops' defaults, what fitted HistGradientBoosting trees hold (checked on scikit-learn 1.9 with
# skops 0.16): its trees, and the partial(check_array, ...) of its column preprocessing. Nothing else loads.
ALLOWED_TYPES = (
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)
ROOT_TYPES = tuple(
    f"sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoosting{kind}"
    for kind in ("Classifier", "Regressor")
)


def _skops() -> Any:
    return require("skops.io", extra="tables", purpose="Saving or loading gradient-boosted trees")


def write_trees(estimator: Any, path: Path) -> None:
    """Write fitted HistGradientBoosting trees (classifier or regressor) to `path` as skops (the caller writes
    atomically)."""
    Path(path).write_bytes(_skops().dumps(estimator))


def read_trees(path: Path) -> Any:
    """The estimator in `path`, after checking that every type it names is in skops' defaults or ALLOWED_TYPES."""
    sio = _skops()
    data = Path(path).read_bytes()
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise ArtifactError(
            f"{path} is not a readable skops file ({exc}); retrain or restore the model folder."
        ) from None
    refused = sorted(untrusted - set(ALLOWED_TYPES))
    if refused:
        raise ArtifactError(
            f"{path} names type(s) outside transferkit's allow-list ({', '.join(refused[:3])}); it was not loaded. "
            "Retrain the model, or get the folder again from its source."
        )
    try:
        estimator = sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise ArtifactError(f"{path} could not be loaded ({exc}); retrain or restore the model folder.") from None
    name = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    if name not in ROOT_TYPES:
        raise ArtifactError(f"{path} holds a {name}, not gradient-boosted trees; retrain or restore the model folder.")
    return estimator
