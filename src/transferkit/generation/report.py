"""report.html of a language-model run: held-out scores of the base and the adapted model, the training history
and sample generations side by side."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from transferkit.evaluation.report import html_page, html_table
from transferkit.run_folder import write_atomic


def report_html(metrics: dict[str, Any], *, title: str) -> str:
    """The report page as a string (no scripts, no external files)."""
    test = metrics.get("test") or {}
    scores = [
        [name, test.get(f"base_{key}"), test.get(key)]
        for key, name in (("perplexity", "perplexity"), ("exact_match", "exact match"), ("rouge_l", "ROUGE-L"))
        if key in test
    ]
    samples = [[s.get("prompt"), s.get("reference"), s.get("base"), s.get("adapted")] for s in metrics["samples"]]
    history = [[row.get("epoch"), row.get("train_loss_epoch"), row.get("val_loss")] for row in metrics["history"]]
    parts = [
        f"<p>Task {html.escape(metrics['task']['name'])}; base prompted: {html.escape(metrics['base']['prompting'])}."
        f" Gain: {html.escape(str(metrics.get('gain', {})))}.</p>",
        "<h2>Held-out scores</h2>",
        html_table(["metric", "base", "adapted"], scores),
        "<h2>Sample generations</h2>",
        html_table(["prompt", "reference", "base", "adapted"], samples, left=4),
        "<h2>Training</h2>",
        f"<p>{html.escape(str(metrics['strategy']))}; {metrics.get('seconds', {}).get('train')} s; "
        f"peak RSS {metrics.get('peak_rss_mb')} MB.</p>",
        html_table(["epoch", "train loss", "validation loss"], history),
        "<h2>Data</h2>",
        f"<pre>{html.escape(str(metrics['data']))}</pre>",
    ]
    return html_page(title, "".join(parts))


def write_report(path: Path, metrics: dict[str, Any], *, title: str) -> Path:
    write_atomic(path, report_html(metrics, title=title))
    return path
