"""The default budget is honoured (issue 21): auto's choice plus its final fit stay within 120% of a small
budget on real fine-food reviews, and the run says whether the recorded prior or cross-validation decided."""

from __future__ import annotations

import transferkit

COLUMNS = {"text_column": "review", "label_column": "score", "max_length": 64}
BUDGET_MINUTES = 0.5


def test_auto_stays_within_a_small_budget_and_says_what_decided(reviews_csv, tmp_path):
    result = transferkit.fit(
        reviews_csv, output_dir=str(tmp_path), split_column="split", budget_minutes=BUDGET_MINUTES, **COLUMNS
    )
    selection = result.metrics["selection"]
    assert selection["budget_seconds"] == BUDGET_MINUTES * 60
    assert selection["budget_used_seconds"] <= 1.2 * BUDGET_MINUTES * 60, selection
    assert selection["decided_by"] in {"prior", "cross-validation", "prior and cross-validation"}
    assert selection["why"] and selection["prior"]["source"].startswith("policy text")
    assert selection["chosen"] == result.metrics["strategy"]["chosen"]
    report = (result.run_dir / "report.md").read_text()
    assert f"Decided by {selection['decided_by']}" in report
