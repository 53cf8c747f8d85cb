"""The Python API behind every CLI command: fit, predict, evaluate, demo.

Example::

    import transferkit
    result = transferkit.fit("reviews.csv", text_column="review", label_column="score")
    transferkit.predict(result.model_dir, ["new_reviews.csv"], output="predictions.csv")
"""

from transferkit.labelling.fit_options import fit  # fit, with --zero-shot / --drop-suspect routed
from transferkit.workflows.batch_predict import predict_batch, streams
from transferkit.workflows.demo import DEMO_TRAINING_REVIEWS, demo
from transferkit.workflows.fit import FitResult, is_tabular, prepare_splits, resolve_spec
from transferkit.workflows.predict import evaluate, model_columns, predict

__all__ = [
    "DEMO_TRAINING_REVIEWS",
    "FitResult",
    "demo",
    "evaluate",
    "fit",
    "is_tabular",
    "model_columns",
    "predict",
    "predict_batch",
    "prepare_splits",
    "resolve_spec",
    "streams",
]
