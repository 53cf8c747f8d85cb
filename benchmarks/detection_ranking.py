"""Does `transferkit rank DATA --task detection` order backbones as short real detector fine-tunes do?

Data: builtin:stamp-scenes (tuxpaint photo cut-outs on real photos; test stamps and backgrounds disjoint from
training), 100 training scenes as in benchmarks/detection_transfer.py. Candidates: every offline backbone that can
carry a detector (bundled MobileNetV2, EfficientNet-Lite0/1/2, ImageNet weights). Ranking: every transferability
score on the crops of the training boxes (seconds). Truth: FCOS over each backbone, frozen backbone (the neck and
heads train), 10 epochs at 160 px, test mAP@.5 on 80 scenes. Kendall's tau and Spearman's rho between each score
and mAP@.5 over the candidates, and whether the score's pick is the best detector.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/detection_ranking.py --seeds 0
Writes benchmarks/results/detection_ranking.json (updated after every fine-tune), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"
PATH = RESULTS / "detection_ranking.json"
CANDIDATES = [
    "bundled:mobilenet_v2",
    "bundled:efficientnet_lite0",
    "bundled:efficientnet_lite1",
    "bundled:efficientnet_lite2",
]
SETTINGS = {
    "detector": "fcos",
    "strategy": "probe",
    "image_size": 160,
    "epochs": 10,
    "batch_size": 8,
    "lr": 1e-3,
    "augment": "light",
    "train_images": 100,
    "train_scenes": 240,
    "test_scenes": 80,
}


def scenes() -> Path:
    from transferkit.detection.scenes import SceneOptions, stamp_scenes

    options = SceneOptions(train=SETTINGS["train_scenes"], test=SETTINGS["test_scenes"], size=SETTINGS["image_size"])
    return stamp_scenes(options)


def ranked(folder: Path, seed: int) -> dict:
    from transferkit.ranking import rank

    started = time.perf_counter()
    ranking = rank(
        str(folder / "train"),
        task="detection",
        candidates=CANDIDATES,
        limit=SETTINGS["train_images"],
        image_size=SETTINGS["image_size"],
        seed=seed,
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "boxes": ranking.data["examples"],
        "classes": ranking.data["classes"],
        "scores": {row.spec: row.scores for row in ranking.rows},
        "embed_seconds": {row.spec: round(row.embed_seconds or 0.0, 1) for row in ranking.rows},
    }


def fine_tune(folder: Path, spec_name: str, seed: int) -> dict:
    from transferkit.config import RunSpec
    from transferkit.detection.training import evaluate_model
    from transferkit.detection.workflow import splits_for, train_detector

    spec = RunSpec.from_dict(
        {
            "data": {
                "path": str(folder / "train"),
                "test_path": str(folder / "test"),
                "task": "detection",
                "limit": SETTINGS["train_images"],
                "valid_fraction": 0.0,
            },
            "backbone": {"spec": spec_name, "image_size": SETTINGS["image_size"]},
            "strategy": {"name": SETTINGS["strategy"], "detector": SETTINGS["detector"]},
            "optim": {"epochs": SETTINGS["epochs"], "lr": SETTINGS["lr"], "batch_size": SETTINGS["batch_size"]},
            "augment": {"policy": SETTINGS["augment"]},
            "run": {"seed": seed, "logger": "csv"},
        }
    )
    splits = splits_for(spec)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        model, _, seconds = train_detector(spec, splits, run_dir=Path(scratch), checkpoint=False)
    metrics = evaluate_model(model, splits.test)
    return {
        "map_50": metrics["map_50"],
        "map": metrics["map"],
        "train_seconds": round(seconds, 1),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def agreement(scores: dict[str, dict], truth: dict[str, float]) -> dict:
    """Per score: Kendall's tau, Spearman's rho and whether its top candidate is the best detector."""
    from scipy.stats import kendalltau, spearmanr

    specs = [spec for spec in CANDIDATES if spec in truth]
    best = max(specs, key=lambda spec: truth[spec])
    result = {}
    for name in next(iter(scores.values())):
        values = [scores[spec].get(name) for spec in specs]
        if any(value is None for value in values) or len(specs) < 3:
            continue
        maps = [truth[spec] for spec in specs]
        pick = specs[max(range(len(specs)), key=lambda i: values[i])]
        result[name] = {
            "kendall_tau": round(float(kendalltau(values, maps).statistic), 3),
            "spearman_rho": round(float(spearmanr(values, maps).statistic), 3),
            "pick": pick,
            "pick_is_best": pick == best,
            "pick_map_50_gap": round(truth[best] - truth[pick], 4),
        }
    return result


def save(results: dict) -> None:
    results["updated"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    tmp = PATH.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(tmp, PATH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    results = json.loads(PATH.read_text()) if PATH.is_file() else {"seeds": {}}
    results |= {
        "benchmark": "detection ranking: box-crop scores vs short FCOS fine-tunes, builtin:stamp-scenes",
        "settings": SETTINGS,
        "candidates": CANDIDATES,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": version("torch")},
    }
    folder = scenes()
    for seed in args.seeds:
        cell = results["seeds"].setdefault(str(seed), {"fine_tunes": {}})
        if "ranking" not in cell:
            cell["ranking"] = ranked(folder, seed)
            save(results)
        for spec in CANDIDATES:
            if spec not in cell["fine_tunes"]:
                cell["fine_tunes"][spec] = fine_tune(folder, spec, seed)
                print(spec, json.dumps(cell["fine_tunes"][spec]), flush=True)
                save(results)
        truth = {spec: row["map_50"] for spec, row in cell["fine_tunes"].items()}
        cell["agreement"] = agreement(cell["ranking"]["scores"], truth)
        cell["fine_tune_seconds"] = round(sum(row["train_seconds"] for row in cell["fine_tunes"].values()), 1)
        save(results)
        print(json.dumps(cell["agreement"], indent=1), flush=True)
    pooled(results)
    save(results)


def pooled(results: dict) -> None:
    """Over the seeds done: each score and each detector's mAP@.5 averaged per candidate, then their agreement
    (one seed's fine-tune order is noisy when the candidates are a few hundredths of mAP apart)."""
    done = [cell for cell in results["seeds"].values() if len(cell.get("fine_tunes", {})) == len(CANDIDATES)]
    if len(done) < 2:
        return
    import statistics

    truth = {spec: statistics.mean(cell["fine_tunes"][spec]["map_50"] for cell in done) for spec in CANDIDATES}
    names = next(iter(done[0]["ranking"]["scores"].values()))
    scores = {
        spec: {name: statistics.mean(cell["ranking"]["scores"][spec][name] for cell in done) for name in names}
        for spec in CANDIDATES
    }
    results["pooled"] = {"seeds": len(done), "map_50": truth, "agreement": agreement(scores, truth)}


if __name__ == "__main__":
    main()
