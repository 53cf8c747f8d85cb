"""Property-based tests (hypothesis) of the three parsers that read what users hand in.

Whatever the input, each parser either succeeds or raises its own clear error, never another exception (which
the command line would have to report as a bug):
- the table reader: random CSV / TSV / JSONL / JSON bytes and random frames -> a clean load or a DataError;
- the config parser: random YAML-ish mappings and random text -> a RunSpec or a ConfigError;
- the backbone spec parser: random strings -> a parsed spec / registry entry or a BackboneError / ConfigError.
Kept fast for the unit tier: at most 150 examples each, no deadline (the first pandas call is slow to warm up).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transferkit.backbones.registry import backbone_entry
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.weights_io import downloads
from transferkit.config import RUN_OPTIONS, RunSpec
from transferkit.data import split_data, validate_labeled
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.text_tables import load_text_table, read_table
from transferkit.errors import BackboneError, ConfigError, DataError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- the table reader ----------------------------------------------------------------------------

# Pieces that make CSV and JSON readers work hard: separators, quotes, line ends, a byte-order mark, bytes
# that are not UTF-8, NUL, brackets, numbers that are not finite, and the column names the loaders look for.
TOKENS = [
    b",", b"\t", b"\n", b"\r\n", b"\r", b'"', b"'", b"\\", b" ", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xe9", b"\xc3",
    b"[", b"]", b"{", b"}", b":", b"null", b"true", b"1", b"-2.5e3", b"inf", b"-inf", b"nan", b"NaN", b"1e999",
    b"text", b"label", b"x", b"a", b"b", b'"text"', b'"label"', b"\xf0\x9f\x98\x80",
]  # fmt: skip
SUFFIXES = [".csv", ".tsv", ".jsonl", ".json"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for every example (module scope: hypothesis reruns the test body, not the fixture)."""
    return tmp_path_factory.mktemp("properties")


def _temporary_file(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"data{suffix}"
    path.write_bytes(data)
    return path


@FAST
@given(
    pieces=st.lists(st.sampled_from(TOKENS), max_size=40),
    suffix=st.sampled_from(SUFFIXES),
    tabular=st.booleans(),
)
def test_the_table_reader_loads_random_bytes_or_says_why(scratch, pieces, suffix, tabular):
    path = _temporary_file(scratch, suffix, b"".join(pieces))
    with contextlib.suppress(DataError):
        read_table(path)
        if tabular:
            data = load_tabular_table(path, label_column="label")
        else:
            data = load_text_table(path, text_column="text", label_column="label")
        validate_labeled(data, skip_bad_files=True)  # what fit does next: a DataError for too little data
        split_data(data, valid_fraction=0.2, test_fraction=0.2, seed=0)


CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["inf", "-inf", "nan", "", " ", "\ufeff", '"', ",", "\n"]),
)
NAMES = st.sampled_from(["text", "label", "x", "y", "split", " x", "label ", "Unnamed: 0", ""])


@st.composite
def frames(draw) -> pd.DataFrame:
    columns = draw(st.lists(NAMES, min_size=1, max_size=5))
    rows = draw(st.integers(min_value=0, max_value=8))
    data = [[draw(CELLS) for _ in columns] for _ in range(rows)]
    return pd.DataFrame(data, columns=columns)


@FAST
@given(frame=frames(), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_the_table_reader_loads_random_frames_or_says_why(scratch, frame, suffix):
    if suffix in (".csv", ".tsv"):
        text = frame.to_csv(index=False, sep="," if suffix == ".csv" else "\t")
    elif suffix == ".jsonl":
        text = frame.to_json(orient="records", lines=True) if frame.columns.is_unique else "[]"
    else:
        text = frame.to_json(orient="records") if frame.columns.is_unique else "{}"
    path = _temporary_file(scratch, suffix, text.encode("utf-8"))
    for load in (
        lambda: load_text_table(path, text_column="text", label_column="label"),
        lambda: load_tabular_table(path, label_column="label"),
        lambda: load_tabular_table(path, label_column=None, feature_columns=["x"]),
    ):
        try:
            data = load()
        except DataError:
            continue
        assert len(data.inputs) + len(data.bad_items) >= 0 and all(isinstance(item, str) for item in data.inputs)


# ---- the config parser ---------------------------------------------------------------------------

SECTIONS = sorted(RunSpec.model_fields)
KEYS = sorted({option.dotted.split(".")[1] for option in RUN_OPTIONS.values()} | {"epoch", "lr_", "name"})
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(["auto", "probe", "lora", "linear", "mlp", "balanced", "effective:0.9", "{}", "-1", "1e9"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
SECTION_BODIES = st.one_of(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4), VALUES)
MAPPINGS = st.dictionaries(st.sampled_from([*SECTIONS, "optimiser", "extra"]), SECTION_BODIES, max_size=4)


def _config_file(scratch: Path, text: str | bytes) -> Path:
    return _temporary_file(scratch, ".yaml", text if isinstance(text, bytes) else text.encode("utf-8"))


@FAST
@given(values=MAPPINGS)
def test_the_config_parser_gives_a_run_spec_or_a_config_error(scratch, values):
    path = _config_file(scratch, yaml.safe_dump(values, allow_unicode=True))
    try:
        spec = RunSpec.from_yaml(path)
    except ConfigError as exc:
        assert "\n" not in str(exc) or str(exc).count("\n") < 3
        return
    floats = [spec.optim.lr, spec.optim.momentum, spec.data.valid_fraction, spec.run.budget_minutes]
    assert all(value is None or math.isfinite(value) for value in floats)
    assert 0 <= spec.run.seed < 2**31


@FAST
@given(text=st.one_of(st.text(max_size=60), st.binary(max_size=60)))
def test_random_config_text_gives_a_run_spec_or_a_config_error(scratch, text):
    with contextlib.suppress(ConfigError):
        RunSpec.from_yaml(_config_file(scratch, text))


@FAST
@given(options=st.dictionaries(st.sampled_from(sorted(RUN_OPTIONS)), SCALARS, max_size=4))
def test_flat_options_give_a_run_spec_or_a_config_error(options):
    from transferkit.api import resolve_spec

    with contextlib.suppress(ConfigError):
        resolve_spec("data.csv", None, options)


# ---- the backbone spec parser --------------------------------------------------------------------

SPECS = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda source, name, weights: f"{source}:{name}{weights}",
        st.sampled_from(["bundled", "timm", "torchvision", "hf", "path", "tabular", "BUNDLED", "", "http"]),
        st.text(max_size=30),
        st.sampled_from(["", "@", "@w.safetensors", "@/nonexistent/w.pth", "@@"]),
    ),
)


@FAST
@given(spec=SPECS)
def test_the_spec_parser_parses_or_gives_a_backbone_error(spec):
    try:
        parsed = parse_spec(spec)
    except BackboneError:
        return
    assert str(parsed).startswith(f"{parsed.source}:")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=SPECS)
def test_resolving_a_random_spec_gives_an_entry_or_a_clear_error(spec):
    with downloads(allowed=False):  # a random hf: name must not reach the network
        try:
            entry = backbone_entry(spec)
        except (BackboneError, ConfigError):
            return
    assert entry.modality in ("text", "image", "audio", "tabular")
