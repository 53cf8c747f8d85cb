"""Series tables: a long table (series id, timestamp, value, covariates) or a wide one (a column per series),
read, checked and put on a regular time grid in neuralforecast's long format (`unique_id`, `ds`, `y`).

Bad input is a DataError naming the series or column and the fix: an unknown column, a duplicate timestamp,
a NaN / inf value, a series too short for its context and horizon. A missing timestamp (a gap in the grid) is
not an error: the row is added, the value carried forward, and the count reported per series.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"series_id": ["a", "a", "a"], "timestamp": [1, 2, 4], "value": [1.0, 2.0, 4.0]})
    >>> table = series_from_frame(frame, spec=TableSpec())
    >>> table.frame["y"].tolist(), table.filled
    ([1.0, 2.0, 2.0, 4.0], {'a': 1})
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from transferkit.errors import ConfigError, DataError

ID, TIME, VALUE = "unique_id", "ds", "y"


@dataclass(frozen=True)
class TableSpec:
    """How to read a series table: its layout, column names and time step. `covariates` are known up to each
    forecast origin (past values only); `future_covariates` are known ahead too (calendar, planned promotions)."""

    wide: bool = False
    id_column: str = "series_id"
    time_column: str = "timestamp"
    value_column: str = "value"
    covariates: tuple[str, ...] = ()
    freq: str | int | None = None
    series: tuple[str, ...] = ()
    future_covariates: tuple[str, ...] = ()

    @property
    def all_covariates(self) -> tuple[str, ...]:
        return (*self.covariates, *self.future_covariates)


@dataclass
class SeriesTable:
    """Regular series in long format; `filled` counts the timestamps added per series, `freq` is the grid's step."""

    frame: pd.DataFrame
    freq: str | int
    covariates: tuple[str, ...] = ()
    filled: dict[str, int] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(self.frame[ID]))

    def lengths(self) -> dict[str, int]:
        return {str(key): int(size) for key, size in self.frame.groupby(ID, sort=False).size().items()}


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame; a missing or unreadable file is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Series table {path} does not exist; check the path.")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path, index_col=False)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"Series table {path} cannot be read ({exc.__class__.__name__}): save it as CSV.") from None


def read_series(path: str | Path, *, spec: TableSpec, what: str = "data") -> SeriesTable:
    """Read, check and regularise the series of a table file (long, or wide with `spec.wide`)."""
    return series_from_frame(read_table(path), spec=spec, what=f"{what} {Path(path).name}")


def series_from_frame(frame: pd.DataFrame, *, spec: TableSpec, what: str = "data") -> SeriesTable:
    """Check a long or wide frame and return its series on a regular grid (gaps filled and counted)."""
    long = _wide_to_long(frame, spec, what) if spec.wide else _long_columns(frame, spec, what)
    if spec.series:
        long = _select(long, spec.series, what)
    _check_values(long, spec.all_covariates, what)
    long[TIME] = _parse_times(long[TIME], spec.freq, what)
    _check_duplicates(long, what)
    freq = _grid_step(long, spec.freq, what)
    regular, filled = _fill_gaps(long, freq, spec.all_covariates)
    return SeriesTable(frame=regular, freq=freq, covariates=spec.all_covariates, filled=filled)


def _missing_column(name: str, option: str, frame: pd.DataFrame, what: str) -> DataError:
    shown = ", ".join(map(str, list(frame.columns)[:12]))
    return DataError(f"The {what} table has no column {name!r} ({option}); its columns are: {shown}.")


def _long_columns(frame: pd.DataFrame, spec: TableSpec, what: str) -> pd.DataFrame:
    options = {"--id-column": spec.id_column, "--time-column": spec.time_column, "--value-column": spec.value_column}
    options |= {f"--covariate {name}": name for name in spec.covariates}
    options |= {f"--future-covariate {name}": name for name in spec.future_covariates}
    for option, name in options.items():
        if name not in frame.columns:
            raise _missing_column(name, option, frame, what)
    renamed = {spec.id_column: ID, spec.time_column: TIME, spec.value_column: VALUE}
    long = frame[[spec.id_column, spec.time_column, spec.value_column, *spec.all_covariates]].rename(columns=renamed)
    long[ID] = long[ID].astype(str)
    long[VALUE] = _numeric(long[VALUE], spec.value_column, what)
    for name in spec.all_covariates:
        long[name] = _numeric(long[name], name, what)
    return long


def _wide_to_long(frame: pd.DataFrame, spec: TableSpec, what: str) -> pd.DataFrame:
    """A column per series; the time column if the table has one, else the row number. Leading and trailing
    empty cells are where a series starts late or ends early; empty cells inside it are gaps (filled later)."""
    if spec.all_covariates:
        raise ConfigError("Covariates need a long table (--id-column, --time-column, --value-column), not --wide.")
    has_time = spec.time_column in frame.columns
    times = frame[spec.time_column] if has_time else pd.Series(np.arange(len(frame)), index=frame.index)
    columns = [name for name in frame.columns if name != spec.time_column]
    if not columns:
        raise DataError(
            f"The {what} table has no series columns besides {spec.time_column!r}; add a column per series."
        )
    pieces = []
    for name in columns:
        values = _numeric(frame[name], str(name), what)
        piece = pd.DataFrame({ID: str(name), TIME: times.to_numpy(), VALUE: values.to_numpy()})
        filled = piece[VALUE].notna().to_numpy().nonzero()[0]
        if len(filled) == 0:
            raise DataError(f"Series column {name!r} of the {what} table is empty; drop it or fill it.")
        piece = piece.iloc[filled[0] : filled[-1] + 1]
        pieces.append(piece[piece[VALUE].notna()])  # inner empty cells: gaps, filled by _fill_gaps
    return pd.concat(pieces, ignore_index=True)


def _numeric(column: pd.Series, name: str, what: str) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"Column {name!r} of the {what} table holds {column.iloc[row]!r} at row {row + 1}, not a number; "
            "fix or remove that cell."
        )
    return values.astype(float)


def _select(long: pd.DataFrame, wanted: tuple[str, ...], what: str) -> pd.DataFrame:
    known = set(long[ID])
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise DataError(f"The {what} table has no series {unknown[0]!r}; its series are: {', '.join(sorted(known))}.")
    return long[long[ID].isin(wanted)].reset_index(drop=True)


def _check_values(long: pd.DataFrame, covariates: tuple[str, ...], what: str) -> None:
    for name in (VALUE, *covariates):
        values = long[name].to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            kind = "NaN (empty)" if np.isnan(values[row]) else "infinite"
            column = "value" if name == VALUE else name
            raise DataError(
                f"Series {long[ID].iloc[row]!r} has a {kind} {column} at timestamp {long[TIME].iloc[row]} "
                f"in the {what} table; fill or drop that row (a missing row is filled for you)."
            )


def _parse_times(times: pd.Series, freq: str | int | None, what: str) -> pd.Series:
    """Integer steps stay integers (freq 1 unless given); anything else must parse as dates."""
    if pd.api.types.is_integer_dtype(times) or (pd.api.types.is_float_dtype(times) and (times % 1 == 0).all()):
        return times.astype("int64")
    if isinstance(freq, int):
        raise ConfigError(f"--freq {freq} is an integer step, but the {what} timestamps are not integers.")
    with warnings.catch_warnings():  # pandas warns when it guesses a format per element; a bad one fails below
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(times, errors="coerce")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(
            f"Timestamp {times.iloc[row]!r} at row {row + 1} of the {what} table is neither a date nor an integer "
            "step; fix it, or point --time-column at the right column."
        )
    return parsed


def _check_duplicates(long: pd.DataFrame, what: str) -> None:
    duplicated = long.duplicated([ID, TIME])
    if duplicated.any():
        row = long[duplicated].iloc[0]
        raise DataError(
            f"Series {row[ID]!r} has timestamp {row[TIME]} twice in the {what} table; keep one row per series and "
            "timestamp (aggregate or drop the duplicates)."
        )


def _grid_step(long: pd.DataFrame, freq: str | int | None, what: str) -> str | int:
    """The grid's step: --freq, else 1 for integer steps, else pandas' inference on the longest series."""
    if pd.api.types.is_integer_dtype(long[TIME]):
        step = 1 if freq is None else freq
        if not isinstance(step, int) or step < 1:
            raise ConfigError(f"--freq must be a positive integer step for integer timestamps; got {freq!r}.")
        return step
    if freq is not None:
        try:
            pd.tseries.frequencies.to_offset(str(freq))
        except ValueError:
            raise ConfigError(f"--freq {freq!r} is not a pandas frequency (e.g. D, B, h, W, MS).") from None
        return str(freq)
    longest = long.groupby(ID).size().idxmax()
    inferred = pd.infer_freq(long.loc[long[ID] == longest, TIME].sort_values().iloc[:200])
    if inferred is None:
        raise ConfigError(f"The {what} timestamps have no regular step pandas can infer; pass --freq (e.g. D, B, h).")
    return inferred


def _fill_gaps(long: pd.DataFrame, freq: str | int, covariates: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each series on the full grid from its first to its last timestamp; added rows carry the last value."""
    pieces, filled = [], {}
    for key, piece in long.groupby(ID, sort=False):
        piece = piece.sort_values(TIME).set_index(TIME)
        start, end = piece.index[0], piece.index[-1]
        grid = range(start, end + 1, freq) if isinstance(freq, int) else pd.date_range(start, end, freq=freq)
        off_grid = piece.index.difference(pd.Index(grid))
        if len(off_grid):
            raise DataError(
                f"Series {key!r} has timestamp {off_grid[0]} off the --freq {freq} grid that starts at {start}; "
                "pass the series' real --freq or align its timestamps."
            )
        regular = piece.reindex(grid)
        missing = int(regular[VALUE].isna().sum())
        if missing:
            filled[str(key)] = missing
        regular[[VALUE, *covariates]] = regular[[VALUE, *covariates]].ffill()
        regular[ID] = str(key)
        pieces.append(regular.rename_axis(TIME).reset_index())
    return pd.concat(pieces, ignore_index=True)[[ID, TIME, VALUE, *covariates]], filled


def check_lengths(table: SeriesTable, *, needed: int, what: str, fix: str) -> None:
    """Every series holds at least `needed` points, or a DataError names the shortest and the fix."""
    lengths = table.lengths()
    short = min(lengths, key=lengths.get)
    if lengths[short] < needed:
        raise DataError(f"Series {short!r} of the {what} has {lengths[short]} points, fewer than {needed}: {fix}.")
