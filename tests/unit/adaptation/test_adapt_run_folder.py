"""`adapt` run folders: safe default names, and --overwrite that keeps the old run when the new one fails."""

from __future__ import annotations

import pytest

from transferkit.adaptation import adapt
from transferkit.adaptation import api as adapt_api
from transferkit.adaptation.recipes import CREDIT_COLUMNS, credit_tables


@pytest.fixture()
def tables(tmp_path):
    source, target = credit_tables()
    source.sample(200, random_state=0).to_csv(tmp_path / "my credit.csv", index=False)
    target.sample(200, random_state=0).to_csv(tmp_path / "lending.csv", index=False)
    return tmp_path / "my credit.csv", tmp_path / "lending.csv"


def _adapt(tables, tmp_path, **options):
    source, target = tables
    return adapt(
        source=source,
        target=target,
        numeric_columns=CREDIT_COLUMNS,
        method="source-only",
        epochs=1,
        output_dir=tmp_path / "runs",
        **options,
    )


@pytest.mark.e2e
def test_default_adapt_names_are_safe_and_unique(tables, tmp_path):
    first, second = _adapt(tables, tmp_path), _adapt(tables, tmp_path)
    assert first.run_dir.name.startswith("adapt-my-credit-to-lending-")
    assert first.run_dir != second.run_dir


@pytest.mark.e2e
def test_a_failed_overwrite_leaves_the_old_adapt_run_in_place(tables, tmp_path, monkeypatch):
    old = _adapt(tables, tmp_path, name="credit")
    metrics = (old.run_dir / "metrics.json").read_text()

    def crash(*args, **kwargs):
        raise RuntimeError("crash while writing the report")

    monkeypatch.setattr(adapt_api, "_write_report", crash)
    with pytest.raises(RuntimeError, match="crash"):
        _adapt(tables, tmp_path, name="credit", overwrite=True)
    assert (old.run_dir / "metrics.json").read_text() == metrics
    assert (old.run_dir / "model" / "model.json").is_file()
