"""Tabular backbones: scikit-learn preprocessing of table columns, then an MLP (``tabular:mlp``) or nothing
(``tabular:columns``, the preprocessed columns themselves as the embedding).

The preprocessing (median imputation + standardisation of numeric columns, most-frequent imputation +
one-hot encoding of categorical ones, at most MAX_ONE_HOT_CATEGORIES columns each) is fitted by
scikit-learn on the training split only, before the strategy runs. Its learned values are kept as JSON
(never a pickle) in the backbone's ``WeightsCfg``, so they travel in model.json and a saved model predicts
on a CSV. ``tabular:mlp`` starts from random weights: pretrain it with a fine-tuning strategy on a source
table, then transfer it with ``path:runs/NAME/model`` (``column_map`` renames target columns to the
source's names).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from transferkit.backbones.base import Backbone, WeightsCfg, state_checksum
from transferkit.data.feature_tables import rows_frame
from transferkit.errors import ConfigError, DataError

logger = logging.getLogger("transferkit")
MLP_HIDDEN = 64
INIT_SEED = 0
# One-hot width per categorical column: the most frequent categories, the rest (and unseen ones) share an
# "other" column, so a high-cardinality column cannot widen the features by a column per row.
MAX_ONE_HOT_CATEGORIES = 50


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


class TabularPreprocessor:
    """Column preprocessing fitted with scikit-learn, applied from its learned values (JSON-serialisable).

    Example:
        >>> frame = pd.DataFrame({"income": ["1", "3", None], "home": ["rent", "own", "rent"]})
        >>> prep = TabularPreprocessor().fit(frame)
        >>> prep.transform(frame).shape
        (3, 3)
    """

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params_ = params

    @property
    def fitted(self) -> bool:
        return self.params_ is not None

    @staticmethod
    def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        """Numeric columns (every present value parses as a number) and categorical ones; a column without any
        value in these rows is in neither (it carries nothing to learn from, and imputation cannot fill it)."""
        numeric, categorical = [], []
        for column in frame.columns:
            present = frame[column].dropna()
            if not len(present):
                logger.warning("column '%s' is empty in every training row; the model leaves it out", column)
                continue
            parsed = _numeric(present)
            (numeric if parsed.notna().all() else categorical).append(str(column))
        return numeric, categorical

    def sklearn_transformer(self, numeric: list[str], categorical: list[str]):
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        return ColumnTransformer(
            [
                ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                (
                    "categorical",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(
                            handle_unknown="infrequent_if_exist",
                            max_categories=MAX_ONE_HOT_CATEGORIES,
                            sparse_output=False,
                        ),
                    ),
                    categorical,
                ),
            ]
        )

    def fit(self, frame: pd.DataFrame) -> TabularPreprocessor:
        """Fit on the training rows (strings / None per column); returns self."""
        numeric, categorical = self.split_columns(frame)
        table = frame.copy()
        for column in numeric:
            table[column] = _numeric(table[column])
        for column in categorical:
            table[column] = table[column].astype(object).where(table[column].notna(), np.nan)
        transformer = self.sklearn_transformer(numeric, categorical).fit(table)
        params: dict[str, Any] = {"columns": [str(c) for c in frame.columns], "numeric": {}, "categorical": {}}
        if numeric:
            imputer, scaler = transformer.named_transformers_["numeric"].steps
            for i, column in enumerate(numeric):
                params["numeric"][column] = {
                    "median": float(imputer[1].statistics_[i]),
                    "mean": float(scaler[1].mean_[i]),
                    "scale": float(scaler[1].scale_[i]),
                }
        if categorical:
            imputer, encoder = transformer.named_transformers_["categorical"].steps
            infrequent = encoder[1].infrequent_categories_
            for i, column in enumerate(categorical):
                rare = set() if infrequent[i] is None else {str(c) for c in infrequent[i]}
                params["categorical"][column] = {
                    "fill": str(imputer[1].statistics_[i]),
                    "categories": [str(c) for c in encoder[1].categories_[i] if str(c) not in rare],
                    **({"other": True} if rare else {}),  # absent in models saved before the cap
                }
        self.params_ = params
        return self

    @property
    def num_outputs(self) -> int:
        categorical = self.params_["categorical"].values()
        return len(self.params_["numeric"]) + sum(len(c["categories"]) + bool(c.get("other")) for c in categorical)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Preprocessed float32 matrix: numeric columns first, then one-hot blocks (a category beyond the kept
        ones: the block's "other" column where it has one, else all 0)."""
        if self.params_ is None:
            raise DataError("The tabular preprocessing is not fitted; fit() it on the training rows first.")
        missing = [c for c in self.params_["columns"] if c not in frame.columns]
        if missing:
            raise DataError(
                f"The table lacks column(s) {', '.join(missing)} that the model was trained on; add them, or map "
                "your names onto them with --column-map TRAINED=YOURS,..."
            )
        blocks = []
        for column, p in self.params_["numeric"].items():
            values = _numeric(frame[column]).fillna(p["median"]).to_numpy(dtype=np.float64)
            blocks.append(((values - p["mean"]) / p["scale"])[:, None])
        for column, p in self.params_["categorical"].items():
            values = frame[column].astype(object).where(frame[column].notna(), p["fill"]).astype(str)
            onehot = values.to_numpy()[:, None] == np.array(p["categories"], dtype=object)[None, :]
            if p.get("other"):
                onehot = np.concatenate([onehot, ~onehot.any(axis=1, keepdims=True)], axis=1)
            blocks.append(onehot.astype(np.float64))
        return np.concatenate(blocks, axis=1).astype(np.float32) if blocks else np.zeros((len(frame), 0), np.float32)


class TabularBackbone(Backbone):
    """Preprocessed table columns -> embedding: an MLP (`kind="mlp"`) or the columns themselves ("columns")."""

    modality = "tabular"

    def __init__(
        self,
        *,
        spec: str,
        kind: str,
        hidden_dim: int = MLP_HIDDEN,
        preprocessor: dict[str, Any] | None = None,
        column_map: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.kind = kind
        self.hidden_dim = hidden_dim
        self.column_map = dict(column_map or {})  # trained name -> name in the user's table
        self.preprocessor = TabularPreprocessor(preprocessor)
        self.layers = nn.Sequential()
        self.num_features = hidden_dim if kind == "mlp" else 0
        self.trainable = kind == "mlp"
        if self.preprocessor.fitted:
            self._build()
        else:
            self.weights_cfg = self._weights_cfg()

    def _build(self) -> None:
        width = self.preprocessor.num_outputs
        if self.kind == "mlp":
            # A fixed seed makes the starting weights (and their checksum) a function of the architecture alone.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(INIT_SEED)
                self.layers = nn.Sequential(
                    nn.Sequential(nn.Linear(width, self.hidden_dim), nn.GELU()),
                    nn.Sequential(nn.Linear(self.hidden_dim, self.hidden_dim), nn.GELU()),
                )
        else:
            self.num_features = width
        self.weights_cfg = self._weights_cfg()

    def _weights_cfg(self) -> WeightsCfg:
        checksum = state_checksum(self.layers) if len(self.layers) else hashlib.sha256(self.kind.encode()).hexdigest()
        return WeightsCfg(
            source=f"{self.spec} (random init, seed {INIT_SEED})" if self.kind == "mlp" else self.spec,
            checksum=checksum,
            licence="n/a",
            preprocessing={
                "tabular": self.preprocessor.params_,
                "column_map": self.column_map,
                "hidden_dim": self.hidden_dim,
            },
        )

    # --- preprocessing ------------------------------------------------------------------------------
    def fit_preprocessing(self, inputs: list[str]) -> bool:
        """Fit the column preprocessing on training rows; a pretrained backbone keeps its own (returns False)."""
        if self.preprocessor.fitted:
            return False
        self.preprocessor.fit(rows_frame(inputs))
        self._build()
        return True

    @property
    def input_columns(self) -> list[str]:
        """Column names the user's table must have (after the column map)."""
        return [self.column_map.get(c, c) for c in self.preprocessor.params_["columns"]]

    def rebuild_options(self) -> dict[str, Any]:
        """Factory options that rebuild this backbone from model.json."""
        return {"preprocessor": self.preprocessor.params_, "column_map": self.column_map, "hidden_dim": self.hidden_dim}

    def cache_key(self) -> str:
        # The current weights, not the starting ones: a retrained model in the same folder must not hit old entries.
        identity = {"spec": self.spec, "pre": self.weights_cfg.preprocessing, "state": state_checksum(self)}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]

    # --- Backbone interface ---------------------------------------------------------------------------
    def load_batch(self, inputs: list[str]) -> torch.Tensor:
        if not self.preprocessor.fitted:
            raise ConfigError(
                f"{self.spec} has no fitted preprocessing; fit_preprocessing() on the training rows first."
            )
        frame = rows_frame(inputs)
        if self.column_map:
            frame = frame.rename(columns={new: old for old, new in self.column_map.items()})
        return torch.from_numpy(self.preprocessor.transform(frame))

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.layers(batch) if len(self.layers) else batch

    def pool(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return features

    def layer_groups(self) -> list[nn.Module]:
        return list(self.layers)


def parse_column_map(value: str | dict[str, str] | None) -> dict[str, str]:
    """``old=new,old2=new2`` (trained column = column in this table) as a dict; errors name --column-map.

    Example:
        >>> parse_column_map("Income=annual_inc, Amount=funded_amnt")
        {'Income': 'annual_inc', 'Amount': 'funded_amnt'}
    """
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    mapping = {}
    for part in value.split(","):
        old, sep, new = part.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(f"The 'column-map' option takes TRAINED=NEW pairs separated by commas. Got '{part}'.")
        mapping[old.strip()] = new.strip()
    return mapping


def load_tabular(
    *,
    spec: str,
    preprocessor: dict[str, Any] | None = None,
    column_map: dict[str, str] | str | None = None,
    hidden_dim: int = MLP_HIDDEN,
    **_: object,
) -> TabularBackbone:
    """Factory of ``tabular:mlp`` / ``tabular:columns`` (other options, e.g. max_length, do not apply)."""
    kind = spec.partition(":")[2]
    if kind not in ("mlp", "columns"):
        raise ConfigError(f"Unknown tabular backbone '{spec}'; use tabular:mlp or tabular:columns.")
    return TabularBackbone(
        spec=spec, kind=kind, hidden_dim=hidden_dim, preprocessor=preprocessor, column_map=parse_column_map(column_map)
    )
