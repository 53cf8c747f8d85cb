"""report.html of a language-model run: held-out scores of the base and the adapted model, the training history
and sample generations side by side."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from transferkit.run_folder import write_atomic

STYLE = "body{font-family:sans-serif;max-width:70em;margin:auto}td,th{border:1px solid #ccc;padding:4px}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if cell is None else str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(metrics: dict[str, Any], *, title: str) -> str:
    """The report page as a string (no scripts, no external files)."""
    test = metrics.get("test") or {}
    scores = [
        [name, test.get(f"base_{key}"), test.get(key)]
        for key, name in (("perplexity", "perplexity"), ("exact_match", "exact match"), ("rouge_l", "ROUGE-L"))
        if key in test
    ]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Task {html.escape(metrics['task']['name'])}; base prompted: {html.escape(metrics['base']['prompting'])}."
        f" Gain: {html.escape(str(metrics.get('gain', {})))}.</p>",
        "<h2>Held-out scores</h2>",
        _table(["metric", "base", "adapted"], scores),
        "<h2>Sample generations</h2>",
        _table(
            ["prompt", "reference", "base", "adapted"],
            [[s.get("prompt"), s.get("reference"), s.get("base"), s.get("adapted")] for s in metrics["samples"]],
        ),
        "<h2>Training</h2>",
        f"<p>{html.escape(str(metrics['strategy']))}; {metrics.get('seconds', {}).get('train')} s; "
        f"peak RSS {metrics.get('peak_rss_mb')} MB.</p>",
        _table(
            ["epoch", "train loss", "validation loss"],
            [[row.get("epoch"), row.get("train_loss_epoch"), row.get("val_loss")] for row in metrics["history"]],
        ),
        "<h2>Data</h2>",
        f"<pre>{html.escape(str(metrics['data']))}</pre>",
    ]
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(parts)}</body></html>"


def write_report(path: Path, metrics: dict[str, Any], *, title: str) -> Path:
    write_atomic(path, report_html(metrics, title=title))
    return path
