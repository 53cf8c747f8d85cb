"""Stratified, seeded train / validation / test splits, or the user's own."""

from __future__ import annotations

from dataclasses import dataclass, field

from sklearn.model_selection import train_test_split

from transferkit.data.dataset import LabeledData
from transferkit.errors import DataError

SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "validation": "valid",
    "val": "valid",
    "dev": "valid",
    "test": "test",
    "testing": "test",
}


@dataclass
class Splits:
    train: LabeledData
    valid: LabeledData | None
    test: LabeledData | None
    # Why a split that the fractions asked for was not carved (too few rows): fit estimates by CV instead.
    not_carved: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, int]]:
        parts = {"train": self.train, "valid": self.valid, "test": self.test}
        return {name: part.class_counts for name, part in parts.items() if part is not None}


def why_not_carved(data: LabeledData, fraction: float) -> str | None:
    """Why a stratified `fraction` of `data` cannot be split off (a class would lose every row, or the split
    would have fewer rows than classes), or None when it can.

    Example:
        >>> rows = LabeledData("text", [str(i) for i in range(50)], [str(i % 10) for i in range(50)], "digits")
        >>> why_not_carved(rows, 0.15)
        '15% of 50 rows is 8, fewer than the 10 classes'
    """
    counts = data.class_counts
    smallest = min(counts, key=counts.get)
    if counts[smallest] < 2:
        return f"class '{smallest}' has {counts[smallest]} example(s)"
    held = round(fraction * len(data))
    if held < len(counts):
        return f"{fraction:.0%} of {len(data)} rows is {held}, fewer than the {len(counts)} classes"
    if len(data) - held < len(counts):
        return f"{len(data) - held} rows would be left to train on, fewer than the {len(counts)} classes"
    return None


def stratified_split(data: LabeledData, fraction: float, *, seed: int, what: str) -> tuple[LabeledData, LabeledData]:
    """Split off `fraction` of the rows, keeping class proportions; deterministic for a seed."""
    indices = list(range(len(data)))
    reason = why_not_carved(data, fraction)
    if reason is not None:
        raise DataError(
            f"Cannot carve a stratified {what} split: {reason} among {len(data)}. Add examples, or set the "
            f"{what} fraction to 0 and pass your own --{what}-data."
        )
    keep, split_off = train_test_split(indices, test_size=fraction, random_state=seed, stratify=data.labels)
    return data.subset(sorted(keep)), data.subset(sorted(split_off))


def stratified_sample(data: LabeledData, size: int, *, seed: int) -> LabeledData:
    """A stratified random subset of `size` rows (few-shot budgets)."""
    if size >= len(data):
        return data
    _, picked = stratified_split(data, size / len(data), seed=seed, what="sample")
    return picked


def split_data(
    data: LabeledData,
    *,
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    limit: int | None = None,
    test_limit: int | None = None,
    valid_data: LabeledData | None = None,
    test_data: LabeledData | None = None,
) -> Splits:
    """Assign every row to train / valid / test.

    Rows with a user split (a split column, or builtin test rows) keep it; missing splits are carved
    from the training rows with the given fractions. `limit` caps the labelled rows used for training
    and validation (a stratified sample), leaving the test split untouched; `test_limit` samples the
    test split for quick checks.
    """
    train, valid, test = data, valid_data, test_data
    if data.split is not None:
        unknown = sorted({value for value in data.split if value not in SPLIT_NAMES})
        if unknown:
            raise DataError(
                f"Split column in {data.source} has value(s) {', '.join(map(repr, unknown))}; use train, valid or test."
            )
        named = [SPLIT_NAMES[value] for value in data.split]
        parts = {
            name: data.subset([i for i, value in enumerate(named) if value == name]) for name in SPLIT_NAMES.values()
        }
        train = parts["train"]
        valid = parts["valid"] if len(parts["valid"]) else valid
        test = parts["test"] if len(parts["test"]) else test
    not_carved: dict[str, str] = {}
    if test is None and test_fraction > 0:
        train, test = _carve(train, test_fraction, seed=seed, what="test", not_carved=not_carved)
    if limit is not None:
        train = stratified_sample(train, limit, seed=seed)
    if test_limit is not None and test is not None:
        test = stratified_sample(test, test_limit, seed=seed)
    if valid is None and valid_fraction > 0:
        train, valid = _carve(train, valid_fraction, seed=seed, what="valid", not_carved=not_carved)
    return Splits(train=train, valid=valid, test=test, not_carved=not_carved)


# Below this many rows in the smallest class a validation split (3 rows of it at 15%) costs more than it tells:
# the probe chooses its L2 strength by cross-validation and auto chooses by cross-validation, so every row trains
# instead. Measured on real MNIST digits (EfficientNet-Lite0 probe, 3 draws, 1,000 test digits): holding 15% out
# cost 0.037 accuracy at 10 per class and 0.025 at 20.
MIN_CLASS_ROWS_FOR_VALID = 20


def _carve(
    data: LabeledData, fraction: float, *, seed: int, what: str, not_carved: dict[str, str]
) -> tuple[LabeledData, LabeledData | None]:
    """`stratified_split`, or (all rows, None) with the reason in `not_carved` when the data is too small."""
    smallest = min(data.class_counts.values())
    if what == "valid" and 2 <= smallest < MIN_CLASS_ROWS_FOR_VALID:
        not_carved[what] = (
            f"the smallest class has {smallest} training rows (fewer than {MIN_CLASS_ROWS_FOR_VALID}): every row trains"
        )
        return data, None
    reason = why_not_carved(data, fraction)
    if reason is not None and data.class_counts[min(data.class_counts, key=data.class_counts.get)] >= 2:
        not_carved[what] = reason
        return data, None
    return stratified_split(data, fraction, seed=seed, what=what)
