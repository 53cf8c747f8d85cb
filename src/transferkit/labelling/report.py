"""Run folders and report.html for the labelling commands (audit, suggest, zero-shot, distil).

Each command claims a run folder, writes config.yaml, its CSV and metrics.json, and a self-contained report.html
whose example tables show each row as the run's modality does (a snippet of a text, a thumbnail of an image).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from transferkit.evaluation.report import CSS
from transferkit.modalities import get_modality
from transferkit.run_folder import RunFolder, run_log, unique_run_name, write_atomic

SHOWN_ROWS = 30  # examples per table in the report; the CSV holds them all


@contextmanager
def labelling_run(
    kind: str, *, name: str | None, output_dir: str | Path, overwrite: bool, options: dict[str, Any]
) -> Iterator[Path]:
    """Claim runs/NAME for a labelling command, write its config.yaml and log; yield the folder."""
    folder = RunFolder.claim(output_dir, name or unique_run_name(kind), overwrite=overwrite, kind=kind)
    plain = {key: str(value) if isinstance(value, Path) else value for key, value in options.items()}
    write_atomic(folder.path / "config.yaml", yaml.safe_dump({"command": kind, **plain}, sort_keys=False))
    with folder.in_progress(), run_log(folder.path):
        yield folder.path


def examples_table(frame: pd.DataFrame, inputs: list[str], *, modality: str, columns: list[str]) -> str:
    """An HTML table of the first SHOWN_ROWS rows of `frame` (which has a `row` column into `inputs`)."""
    show = get_modality(modality).show_html
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = []
    for record in frame.head(SHOWN_ROWS).to_dict(orient="records"):
        cells = "".join(f"<td>{html.escape(str(record[column]))}</td>" for column in columns)
        body.append(f"<tr><td class='l'>{show(inputs[int(record['row'])])}</td>{cells}</tr>")
    more = f"<p class='note'>{len(frame) - SHOWN_ROWS} more in the CSV.</p>" if len(frame) > SHOWN_ROWS else ""
    return f"<table><tr><th class='l'>example</th>{head}</tr>{''.join(body)}</table>{more}"


def summary_table(values: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td class='l'>{html.escape(str(key))}</td><td>{html.escape(_text(value))}</td></tr>"
        for key, value in values.items()
        if value is not None
    )
    return f"<table>{rows}</table>"


def _text(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_page(run_dir: Path, *, title: str, parts: list[str]) -> Path:
    """report.html: inline CSS, images as data URIs, no scripts or network references."""
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
    page += f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>"
    path = run_dir / "report.html"
    write_atomic(path, page)
    return path


def append_section(report: Path, section: str) -> None:
    """Add a section at the end of an existing report.html (fit's, for --zero-shot and --drop-suspect)."""
    page = report.read_text(encoding="utf-8") if report.is_file() else "<html><body></body></html>"
    marker = "</body>"
    page = page.replace(marker, section + marker, 1) if marker in page else page + section
    write_atomic(report, page)
