"""High-cardinality table columns: ID-like text columns leave the features (with a warning and a record in the
data summary), and one-hot blocks stay narrow whatever a categorical column holds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from transferkit.backbones.tabular import MAX_ONE_HOT_CATEGORIES, TabularPreprocessor
from transferkit.data import load_labeled, validate_labeled
from transferkit.data.feature_tables import rows_frame
from transferkit.modalities.tabular import BOOSTING_MAX_CATEGORIES, table_matrix


def _table(path, rows: int = 3_000):
    frame = pd.DataFrame(
        {
            "customer_id": [f"C-{i:06d}" for i in range(rows)],
            "plan": ["basic", "pro", "team"] * (rows // 3),
            "amount": [str(10 + i % 97) for i in range(rows)],
            "label": ["churn", "stay"] * (rows // 2),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_an_id_column_is_left_out_with_a_warning_and_recorded_in_the_summary(tmp_path):
    path = _table(tmp_path / "customers.csv")
    with pytest.warns(UserWarning, match=r"customers\.csv: column\(s\) customer_id look like identifiers"):
        data = load_labeled(path, tabular=True)
    assert set(json.loads(data.inputs[0])) == {"plan", "amount"}
    summary = validate_labeled(data, skip_bad_files=False).to_dict()
    assert summary["dropped_columns"] == {"customer_id": "ID-like: 3000 distinct text values in 3000 filled rows"}
    width = TabularPreprocessor().fit(rows_frame(data.inputs)).num_outputs
    assert width == 4  # amount + 3 plans, not 3,001 columns


def test_a_column_named_in_feature_columns_is_kept_and_its_one_hot_block_is_capped(tmp_path):
    path = _table(tmp_path / "customers.csv")
    data = load_labeled(path, tabular=True, feature_columns=["customer_id", "plan"])
    assert not data.dropped_columns
    prep = TabularPreprocessor().fit(rows_frame(data.inputs))
    assert prep.num_outputs == MAX_ONE_HOT_CATEGORIES + 3  # the kept IDs + "other", then 3 plans
    unseen = prep.transform(pd.DataFrame({"customer_id": ["C-999999"], "plan": ["pro"]}))
    other = MAX_ONE_HOT_CATEGORIES - 1  # the ID block's last column
    assert unseen.shape == (1, prep.num_outputs) and unseen[0, other] == 1.0 and unseen[0, :other].sum() == 0


def test_a_model_saved_before_the_cap_still_transforms_as_it_did():
    params = {
        "columns": ["home"],
        "numeric": {},
        "categorical": {"home": {"fill": "rent", "categories": ["own", "rent"]}},
    }
    prep = TabularPreprocessor(params)
    assert prep.num_outputs == 2
    assert prep.transform(pd.DataFrame({"home": ["own", "boat"]})).tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_the_boosting_baseline_gets_at_most_its_category_limit():
    rows = [json.dumps({"id": f"u{i}", "n": i}) for i in range(600)]
    frame = table_matrix(rows)
    assert len(frame["id"].cat.categories) == BOOSTING_MAX_CATEGORIES
    assert frame["id"].isna().sum() == 600 - BOOSTING_MAX_CATEGORIES and np.issubdtype(frame["n"].dtype, np.number)
