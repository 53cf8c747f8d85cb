"""Tables for the worked guides (docs/guides/*.md), rendered from examples/results/*.json: the numbers of each
guide's full run, never typed by hand. A page asks with ``<!-- guide: NAME -->`` (docs/hooks.py);
``python docs/gen_guides.py`` prints every table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "examples" / "results"


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / f"{name}.json").read_text())


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def f3(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def source(name: str) -> str:
    data = load(name)
    return f"Full run of `{data['script']}` in {data['seconds']} s; results file `examples/results/{name}.json`."


def healthcare_arms() -> str:
    arms = load("healthcare_tumours")["arms"]
    labels = {"argmax": "unweighted, argmax", "balanced_auto_threshold": "--class-weight balanced --threshold auto"}
    header = ["model", "accuracy", "balanced acc.", "ROC-AUC", "malignant recall", "benign recall", "ECE", "threshold"]
    rows = []
    for key, arm in arms.items():
        threshold = arm.get("threshold") or {}
        rule = f"P(malignant) >= {threshold['value']:.3f}" if threshold else "argmax"
        rows.append([labels.get(key, key), f3(arm["accuracy"]), f3(arm["balanced_accuracy"]), f3(arm["roc_auc"])])
        rows[-1] += [f3(arm["recall"]["malignant"]), f3(arm["recall"]["benign"]), f3(arm["ece"]), rule]
    return table(header, rows) + f"\n\nTest rows: {next(iter(arms.values()))['test_rows']}."


def healthcare_calibration() -> str:
    c = load("healthcare_tumours")["calibration"]
    rows = [
        ["ECE", f3(c["ece_before"]), f3(c["ece_after"])],
        ["log loss", f3(c["log_loss_before"]), f3(c["log_loss_after"])],
    ]
    note = f"Temperature {c['temperature']} fitted on the {c['fitted_on']} rows; scored on the test rows."
    return table(["test", "before", "after temperature scaling"], rows) + "\n\n" + note


def healthcare_mistakes() -> str:
    data = load("healthcare_tumours")
    rows = [[m["true"], m["predicted"], f3(m["confidence"])] for m in data["most_confident_mistakes"]]
    onnx = data["onnx"]
    return (
        table(["true", "predicted", "confidence"], rows)
        + f"\n\nONNX export parity with PyTorch: max abs difference {onnx['max_abs_difference']:.1e}."
    )


def finance_credit() -> str:
    c = load("finance_credit_and_markets")["credit"]
    t = c["test"]
    head = (
        f"{c['rows']} loans ({', '.join(f'{k} {v}' for k, v in c['class_counts'].items())}); strategy "
        f"{c['strategy']}; on {c['test_rows']} test loans: ROC-AUC {f3(t['roc_auc'])}, "
        + (f"PR-AUC of bad {f3(t['minority_pr_auc'])}, " if t.get("minority_pr_auc") is not None else "")
        + f"balanced accuracy {f3(t['balanced_accuracy'])}. Cost matrix: a missed default costs "
        f"{c['cost_matrix']['missed_default']:g}, a refused good loan {c['cost_matrix']['refused_good_loan']:g}."
    )
    header = ["decision rule", "refuse when P(bad) >=", "defaults caught", "defaults missed", "good refused"]
    header += ["cost per 1,000 loans"]
    rows = [
        [
            rule,
            r["threshold"],
            f3(r["default_recall"]),
            r["missed_defaults"],
            r["refused_good"],
            r["cost_per_1000_loans"],
        ]
        for rule, r in c["rules"].items()
    ]
    return head + "\n\n" + table(header, rows)


def finance_markets() -> str:
    m = load("finance_credit_and_markets")["markets"]
    models = m["metrics"]["models"]
    header = ["model", "MASE", "sMAPE %", "direction accuracy", "beats naive"]
    beats = m["metrics"]["beats_naive"]
    rows = [
        [name, f3(s["mase"]), f3(s["smape"]), f3(s.get("direction_accuracy")), beats.get(name, "-")]
        for name, s in sorted(models.items(), key=lambda item: item[1]["mase"])
    ]
    b = m["metrics"]["backtest"]
    return (
        f"Target {m['target']}, pretrained on {', '.join(m['sources'])}; {b['origins']} origins {b['step']} days "
        f"apart, horizon 5.\n\n" + table(header, rows) + f"\n\nThe run's verdict: {m['metrics']['verdict']}"
    )


def _interval(stats: dict[str, Any]) -> str:
    if stats.get("mean") is None:
        return "not reached"
    if stats.get("low") is None:
        return f"{stats['mean']:.2f}"
    return f"{stats['mean']:.2f} [{stats['low']:.2f}, {stats['high']:.2f}]"


def driving() -> str:
    d = load("driving_policy_transfer")
    s = d["summary"]
    names = {
        "jumpstart": "jumpstart (first evaluation, transfer - scratch)",
        "asymptotic_transfer": "final return, transferred",
        "asymptotic_scratch": "final return, from scratch",
        "area_ratio": "area ratio ((transfer - scratch) / abs(scratch))",
        "time_to_threshold_transfer": "steps to return 10, transferred",
        "time_to_threshold_scratch": "steps to return 10, from scratch",
    }
    rows = [[label, _interval(s[key])] for key, label in names.items() if isinstance(s.get(key), dict)]
    src = d["source_final_return"]
    head = (
        f"Source: PPO on {d['source']['env']}, vehicles_density randomised in "
        f"{d['source']['randomize']['vehicles_density']}, {d['source_steps']} steps (final return "
        f"{src.get('mean', 0) if isinstance(src, dict) else src:.2f}). Target: {d['target']['env']}, "
        f"{d['transfer_steps']} steps per seed, seeds {d['seeds']}. Negative transfer flagged: "
        f"{s.get('negative_transfer', d['negative_transfer'])}."
    )
    return head + "\n\n" + table(["metric (mean [95% interval over seeds])", "value"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "healthcare_arms": healthcare_arms,
    "healthcare_calibration": healthcare_calibration,
    "healthcare_mistakes": healthcare_mistakes,
    "finance_credit": finance_credit,
    "finance_markets": finance_markets,
    "driving": driving,
}


def render(name: str) -> str:
    """A table name, or ``source:FILE`` for the line naming the run and its results file."""
    if name.startswith("source:"):
        return source(name.removeprefix("source:"))
    if name not in TABLES:
        raise KeyError(f"No guide table named {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name]()


if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(TABLES):
        print(f"## {wanted}\n\n{render(wanted)}\n")
