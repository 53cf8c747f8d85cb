"""POST /predict bodies -> the runtime's inputs, or a 4xx error that names the field at fault.

JSON: ``{"texts": [...]}`` (text models), ``{"images": [base64, ...]}`` (image models) or ``{"rows": [{...}, ...]}``
(table models). Multipart: one or more ``files`` parts (images; text files of one text per line; CSV tables).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

FIELDS = {"text": "texts", "image": "images", "tabular": "rows"}


@dataclass
class RequestError(Exception):
    """A request the server refuses: HTTP `status`, the field's location and what to fix."""

    status: int
    loc: list[Any]
    msg: str
    kind: str = "value_error"

    def body(self) -> dict[str, Any]:
        """The error as FastAPI writes its validation errors: {"detail": [{"loc", "msg", "type"}]}."""
        return {"detail": [{"loc": self.loc, "msg": self.msg, "type": self.kind}]}


def _check_items(items: list[Any], field: str, max_items: int) -> list[Any]:
    if not items:
        raise RequestError(422, ["body", field], f"'{field}' is empty; send at least one input.")
    if len(items) > max_items:
        raise RequestError(
            413, ["body", field], f"'{field}' has {len(items)} inputs; this server takes at most {max_items} a request."
        )
    return items


def check_row(row: dict[str, Any], loc: list[Any], numeric: Collection[str]) -> None:
    """A table row's values: one JSON scalar each, finite, and a number (or blank) in a `numeric` column.

    The runtime reads a cell as training did (pandas.to_numeric(errors="coerce"): anything not a number is missing
    and takes the column's median); a server refuses such a cell instead of predicting from a guess."""
    for column, value in row.items():
        where = [*loc, column]
        if value is not None and not isinstance(value, str | int | float):
            raise RequestError(422, where, f"Column '{column}' holds a {type(value).__name__}; send a number or text.")
        if isinstance(value, float) and math.isinf(value):
            raise RequestError(422, where, f"Column '{column}' is infinite; send a finite number (or null if missing).")
        if column in numeric and isinstance(value, str) and value.strip():
            try:
                number = float(value)
            except ValueError:
                raise RequestError(
                    422, where, f"Column '{column}' is a number column; '{value[:40]}' is not a number."
                ) from None
            if math.isinf(number):
                raise RequestError(422, where, f"Column '{column}' is infinite; send a finite number.")


def json_inputs(body: bytes, *, modality: str, max_items: int, numeric: Collection[str] = ()) -> list[Any]:
    """The inputs of a JSON body for a model of `modality` (`numeric`: a table model's number columns)."""
    field = FIELDS[modality]
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(422, ["body"], f"The body is not valid JSON ({exc}).", "json_invalid") from None
    if not isinstance(payload, dict):
        raise RequestError(422, ["body"], f'The body must be a JSON object such as {{"{field}": [...]}}.')
    others = sorted(set(payload) - {field})
    if field not in payload:
        wrong = f" ('{others[0]}' is for another kind of model)" if others else ""
        raise RequestError(422, ["body", field], f"Field '{field}' is required for this {modality} model{wrong}.")
    if others:
        raise RequestError(
            422, ["body", others[0]], f"Unknown field '{others[0]}'; this {modality} model takes '{field}'."
        )
    items = payload[field]
    if not isinstance(items, list):
        raise RequestError(422, ["body", field], f"'{field}' must be a list, not {type(items).__name__}.", "list_type")
    _check_items(items, field, max_items)
    expected = {"text": str, "image": str, "tabular": dict}[modality]
    for index, item in enumerate(items):
        if not isinstance(item, expected):
            what = {"text": "a string", "image": "a base64 string", "tabular": "an object of column: value"}[modality]
            raise RequestError(
                422, ["body", field, index], f"{field}[{index}] must be {what}, not {type(item).__name__}."
            )
    if modality == "image":
        return [_base64(item, index) for index, item in enumerate(items)]
    if expected is dict:  # table rows: every cell a finite scalar, a number in a number column
        for index, row in enumerate(items):
            check_row(row, ["body", field, index], numeric)
    return items


def _base64(text: str, index: int) -> bytes:
    if text.startswith("data:") and "," in text:  # a data URL: data:image/png;base64,....
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(422, ["body", "images", index], f"images[{index}] is not valid base64.") from None


def file_inputs(
    files: list[tuple[str, bytes]], *, modality: str, max_items: int, numeric: Collection[str] = ()
) -> list[Any]:
    """The inputs of multipart `files` (name, content) for a model of `modality` (`numeric`: as json_inputs)."""
    if not files:
        raise RequestError(422, ["body", "files"], "Send one or more 'files' parts (or a JSON body).")
    if modality == "image":
        return _check_items([content for _, content in files], "files", max_items)
    items: list[Any] = []
    for index, (name, content) in enumerate(files):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RequestError(422, ["body", "files", index], f"File {name} is not UTF-8 text.") from None
        if modality == "text":
            items.extend(line for line in text.splitlines() if line.strip())
        else:
            for number, row in enumerate(csv.DictReader(io.StringIO(text))):
                check_row(row, ["body", "files", index, number], numeric)
                items.append(dict(row))
    return _check_items(items, "files", max_items)
