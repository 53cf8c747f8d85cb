"""A griffe extension for the API reference: read "Example:" sections as "Examples:".

The code's docstrings title their runnable examples "Example:" (singular). Google style, as griffe parses it, knows
only "Examples:", so the singular title became a plain admonition and a doctest line such as
``result.metrics["test"]["accuracy"]`` was read as a Markdown reference link. Renaming the title here renders the
examples as code without editing the source.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = TITLE.sub(r"\1Examples:", obj.docstring.value)
