"""mkdocs hooks: fill the generated parts of pages at build time.

- ``<!-- bench: NAME -->`` becomes a table rendered from benchmarks/results/*.json (docs/gen_benchmarks.py);
  ``<!-- bench: machine:FILE -->`` the line saying where those numbers were measured.
- ``<!-- guide: NAME -->`` becomes a worked guide's table, from examples/results/*.json (docs/gen_guides.py).
- ``<!-- config-schema -->`` becomes the RunSpec tables (docs/gen_config.py).
- ``<!-- cli-reference -->`` becomes every command and flag of the CLI (docs/gen_cli.py).
- ``<!-- layers -->`` becomes the layers of the import-linter contract in .importlinter, top first.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # the generators live beside this file

import gen_benchmarks  # noqa: E402
import gen_cli  # noqa: E402
import gen_config  # noqa: E402
import gen_guides  # noqa: E402

ROOT = DOCS.parent


def layers_block() -> str:
    """The `layers` list of the contract that `make lint` enforces, as a code block (comments left out)."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    for section in parser.sections():
        if parser[section].get("type") == "layers":
            lines = [line.strip() for line in parser[section]["layers"].splitlines()]
            layers = [line for line in lines if line and not line.startswith("#")]
            return "```\n" + "\n".join(layers) + "\n```"
    raise ValueError("No layers contract in .importlinter")


MARKER = re.compile(r"^<!-- bench: (?P<name>\S+) -->$", re.MULTILINE)
GUIDE = re.compile(r"^<!-- guide: (?P<name>\S+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page, config, files) -> str:  # mkdocs' hook signature
    markdown = MARKER.sub(lambda match: gen_benchmarks.render(match["name"]), markdown)
    markdown = GUIDE.sub(lambda match: gen_guides.render(match["name"]), markdown)
    if "<!-- config-schema -->" in markdown:
        markdown = markdown.replace("<!-- config-schema -->", gen_config.config_tables())
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", gen_cli.cli_reference())
    if "<!-- layers -->" in markdown:
        markdown = markdown.replace("<!-- layers -->", layers_block())
    return markdown
