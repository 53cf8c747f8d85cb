"""Benchmark tables for the docs, rendered from benchmarks/results/*.json so that no number is typed by hand.

A docs page asks for a table with a marker line ``<!-- bench: NAME -->`` (see docs/hooks.py); NAME is a key of
TABLES. ``python docs/gen_benchmarks.py`` prints every table, ``python docs/gen_benchmarks.py NAME`` one.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / f"{name}.json").read_text())


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def f3(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def f2(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def pm(stats: dict[str, float], digits: int = 3) -> str:
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def code(text: str) -> str:
    return f"`{text}`"


# -- machine and provenance ------------------------------------------------------------------------------------


def machine(name: str) -> str:
    """One line: where the numbers in NAME.json were measured (platform, cores, load, library versions)."""
    data = load(name)
    box = data.get("machine", {})
    parts = []
    cpus = box.get("cpus", box.get("cpu_count"))
    if cpus:
        parts.append(f"{cpus} CPU cores, no GPU")
    for key in ("torch", "torch_threads", "threads", "omp_wait_policy", "python"):
        if key in box:
            parts.append(f"{key.replace('_', ' ')} {box[key]}")
    for key in ("load_average_at_start", "loadavg_start", "load_at_start", "load_average"):
        if key in box:
            parts.append(f"load average at start {_load(box[key])}")
            break
    for key in ("load_average_at_end", "loadavg_end"):
        if key in box:
            parts.append(f"at end {_load(box[key])}")
            break
    if "note" in box:
        parts.append(box["note"])
    versions = data.get("versions", {})
    if versions:
        parts.append(", ".join(f"{lib} {version}" for lib, version in versions.items()))
    return f"Measured on: {'; '.join(parts)}. Results file: `benchmarks/results/{name}.json`."


def _load(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.2f}" for v in value) + "]"
    return f"{value:.2f}"


# -- one function per table ------------------------------------------------------------------------------------


def demo() -> str:
    rows = load("demo")["rows"]
    out = [
        [
            row["seed"],
            f3(row["accuracy"]),
            f3(row["balanced_accuracy"]),
            f3(row["macro_f1"]),
            f"{row['wall_seconds_process']:.0f} s",
            f"{row['peak_rss_mib']:,.0f} MiB",
        ]
        for row in rows
    ]

    def mean_sd(key: str) -> str:
        values = [row[key] for row in rows]
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

    out.append(["mean ± sd", mean_sd("accuracy"), mean_sd("balanced_accuracy"), mean_sd("macro_f1"), "", ""])
    header = ["seed", "test accuracy", "balanced accuracy", "macro-F1", "wall time (fresh process, empty cache)"]
    return table([*header, "peak RSS"], out)


def backbone_speed() -> str:
    rows = [
        [code(r["spec"]), f2(r["embeddings_per_s"]), f"{r['load_seconds']:.1f}"]
        for r in load("backbone_speed")["results"]
    ]
    return table(["backbone", "embeddings/s", "load s"], rows)


def embed_throughput() -> str:
    data = load("embed_throughput")["results"]
    runtimes = [("transferkit_auto", "_auto"), ("transferkit", ""), ("transferkit_onnx", "_onnx")]
    runtimes.append(("transferkit_bf16", "_bf16"))
    rows = []
    for modality, result in data.items():
        rates = result["inputs_per_s_median"]
        for side, suffix in runtimes:
            if side not in rates:
                continue
            cosine = result.get(f"min_cosine_to_reference{suffix}")
            rows.append(
                [
                    modality,
                    {"": "torch", "_onnx": "onnx", "_bf16": "bf16"}.get(suffix)
                    or f"auto (default; ran as {result.get('auto_runs_as', '?')})",
                    result["inputs"],
                    result["reference"],
                    f"{rates[side]:.1f}",
                    f"{rates['reference']:.1f}",
                    f"**{result[f'ratio{suffix}']:.2f}x**",
                    f"{result.get(f'median_per_round_ratio{suffix}', float('nan')):.2f}x",
                    f"{cosine:.5f}" if cosine is not None else "",
                ]
            )
    header = [
        "modality",
        "runtime",
        "inputs",
        "reference",
        "transferkit /s",
        "reference /s",
        "ratio (medians)",
        "median per-round ratio",
        "min. cosine",
    ]
    notes = []
    for modality, result in data.items():
        if "ratio_reference_bf16" in result:  # a side measurement: the peer under bf16 autocast by hand
            notes.append(
                f"- {modality}, side measurement: the reference under bfloat16 autocast (by hand) ran "
                f"{result['ratio_reference_bf16']:.2f}x its fp32 self (cosine "
                f"{result['min_cosine_to_reference_reference_bf16']:.5f}); transferkit's default ran "
                f"{result['median_per_round_ratio_auto_vs_reference_bf16']:.2f}x that (median per round)."
            )
    return table(header, rows) + ("\n\n" + "\n".join(notes) if notes else "")


def predict_throughput() -> str:
    data = load("predict_throughput")["results"]
    rows = []
    for modality in ("text", "image"):
        if modality not in data:
            continue
        rates = data[modality]["per_s_median"]
        for runtime in ("torch", "onnx", "bf16"):
            if f"predict_{runtime}" not in rates:
                continue
            forward = rates.get(f"forward_{runtime}")
            rows.append(
                [
                    modality,
                    runtime,
                    data[modality]["inputs"],
                    f"{rates[f'predict_{runtime}']:.1f}",
                    f"{forward:.1f}" if forward else "not measured",
                    f"{rates[f'predict_{runtime}'] / forward:.2f}" if forward else "",
                    f"{rates[f'predict_{runtime}'] / rates['predict_torch']:.2f}x",
                ]
            )
    header = [
        "inputs",
        "runtime",
        "n",
        "predict /s",
        "backbone forward /s (the limit)",
        "predict / forward",
        "vs torch",
    ]
    return table(header, rows)


def predict_memory() -> str:
    data = load("predict_throughput")["results"]
    rows = []
    for key, label in (("memory", "streamed (`predict`, chunks of 1,024)"), ("memory_in_memory", "in memory")):
        if key not in data:
            continue
        record = data[key]
        marks = record.get("rss_at_chunks_mib", {})
        tenth = max(1, max(map(int, marks), default=0) // 10)  # after the first chunks' start-up allocations
        later = [value for chunk, value in marks.items() if int(chunk) >= tenth]
        band = f"{min(later):.0f}-{max(later):.0f} MiB" if later else "one pass, no chunks"
        rows.append(
            [
                label,
                f"{record['rows']:,}",
                f"{record['seconds']:.0f}",
                f"{record['rss_before_mib']:.0f} MiB",
                f"{record['peak_rss_mib']:.0f} MiB (+{record['peak_rss_mib'] - record['rss_before_mib']:.0f})",
                band,
            ]
        )
    header = ["path", "rows", "seconds", "RSS before", "peak RSS", "RSS from a tenth of the way in to the last chunk"]
    return table(header, rows)


def two_stage_vs_probe() -> str:
    rows = []
    for r in load("two_stage_vs_probe")["results"]:
        options = ", ".join(f"{k} {v}" for k, v in r.get("options", {}).items())
        label = r["strategy"] + (f" ({options})" if options else "")
        rows.append([label, f3(r["test_accuracy"]), f3(r["test_macro_f1"]), f"{r['seconds']:.0f}"])
    return table(["strategy", "test accuracy", "macro-F1", "seconds"], rows)


def finetune_memory() -> str:
    data = load("finetune_memory")
    rows = [
        [r["strategy"], f"{r['peak_rss_mib']:.0f} MiB", "yes" if r["under_target"] else "no", f"{r['seconds']:.1f}"]
        for r in data["rows"]
    ]
    return table(["strategy", "peak RSS", f"under {data['target_peak_rss_mib']} MiB", "seconds"], rows)


PEER_LABELS = {
    "transferkit_probe": "transferkit probe",
    "transferkit_two_stage": "transferkit two-stage",
    "transferkit_contrastive": "transferkit contrastive",
    "setfit": "SetFit",
    "fastai_fine_tune": "fastai fine_tune",
}


def _peer_table(name: str, peer: str) -> str:
    summary = load(name)["summary"]
    rows = []
    for per_class, arms in summary.items():
        for arm, s in sorted(arms.items(), key=lambda item: item[0] == peer):
            ratio = s.get(f"time_ratio_vs_{peer.split('_')[0]}")
            met = s.get("target_met")
            rows.append(
                [
                    per_class,
                    PEER_LABELS.get(arm, arm),
                    s["seeds"],
                    f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f}",
                    f"{s['seconds_mean']:.1f} ± {s['seconds_std']:.1f}",
                    "" if ratio is None else f"{ratio:.2f}x",
                    "" if met is None else ("yes" if met else "no"),
                ]
            )
    header = ["per class", "method", "seeds", "test accuracy (mean ± std)", "train seconds", "time vs peer"]
    return table([*header, "target met"], rows)


def vs_setfit() -> str:
    return _peer_table("vs_setfit", "setfit")


def vs_fastai() -> str:
    return _peer_table("vs_fastai", "fastai_fine_tune")


def _per_seed(name: str, arms: list[str]) -> str:
    results = load(name)["results"]
    rows = []
    for per_class in sorted({r["per_class"] for r in results}):
        cells = []
        for arm in arms:
            values = [r["accuracy"] for r in results if r["per_class"] == per_class and r["arm"] == arm]
            cells.append(", ".join(f"{v:.3f}" for v in values))
        rows.append([per_class, *cells])
    return table(["per class", *[f"{PEER_LABELS.get(a, a)}, per seed" for a in arms]], rows)


def vs_setfit_per_seed() -> str:
    return _per_seed("vs_setfit", ["transferkit_contrastive", "setfit"])


def vs_fastai_per_seed() -> str:
    return _per_seed("vs_fastai", ["transferkit_two_stage", "fastai_fine_tune"])


def _versus(gaps: list[float]) -> str:
    return f"{statistics.mean(gaps):+.3f} ({sum(g > 0 for g in gaps)} won, {sum(g < 0 for g in gaps)} lost)"


def vs_setfit_more() -> str:
    """`vs_setfit.py --set` on other text sets: mean accuracy per set, size and arm over the seeds both contrastive
    and SetFit ran, with the draws contrastive won and lost against SetFit and the mean train seconds."""
    results = load("vs_setfit_more")["results"]
    arms = ("transferkit_contrastive", "setfit", "transferkit_probe")
    rows, every_gap = [], []
    for name, per_class in sorted({(r["set"], r["per_class"]) for r in results}):
        runs = {(r["arm"], r["seed"]): r for r in results if (r["set"], r["per_class"]) == (name, per_class)}
        seeds = sorted({seed for arm, seed in runs if arm == "setfit"} & {seed for arm, seed in runs if arm == arms[0]})
        if not seeds:  # a size still running
            continue
        mean = {arm: statistics.mean(runs[arm, seed]["accuracy"] for seed in seeds) for arm in arms}
        seconds = " / ".join(f"{statistics.mean(runs[arm, seed]['seconds'] for seed in seeds):.1f}" for arm in arms)
        gaps = [runs[arms[0], seed]["accuracy"] - runs["setfit", seed]["accuracy"] for seed in seeds]
        every_gap += gaps
        row = [code(name), per_class, ", ".join(map(str, seeds)), *(f3(mean[arm]) for arm in arms)]
        rows.append([*row, _versus(gaps), seconds])
    rows.append(["every draw above", "", f"{len(every_gap)} draws", "", "", "", _versus(every_gap), ""])
    header = ["set", "per class", "seeds", "contrastive", "SetFit", "probe", "contrastive - SetFit (draws won, lost)"]
    return table([*header, "train seconds (contrastive / SetFit / probe)"], rows)


FROZEN_LABELS = {
    "transferkit_probe": "transferkit probe (cached)",
    "timm_textbook_loop": "timm frozen loop, timm's DataLoader (NCHW)",
    "timm_frozen_loop": "timm frozen loop on transferkit's channels-last batches",
    "fastai_frozen_vision_learner": "fastai frozen vision_learner",
}


def probe_vs_frozen_loop() -> str:
    summary = load("probe_vs_frozen_loop")["summary"]
    rows = []
    for arm, label in FROZEN_LABELS.items():
        s = summary[arm]
        speedup = summary.get(f"speedup_vs_{arm}")
        met = summary.get(f"target_met_vs_{arm}")
        rows.append(
            [
                label,
                f3(s["test_accuracy_mean"]),
                f"{s['train_seconds_mean']:.1f}",
                "" if speedup is None else f"{speedup:.1f}x",
                "" if met is None else ("yes" if met else "no"),
            ]
        )
    header = ["method", "test accuracy (mean of seeds)", "train seconds", "probe speed-up", "target met"]
    return table(header, rows)


def imbalance() -> str:
    summary = load("imbalance")["summary"]
    datasets = list(summary)
    methods = list(summary[datasets[0]])
    rows = []
    for method in methods:
        cells = [
            " / ".join(
                f"{summary[d][method][k]['mean']:.3f}" for k in ("balanced_accuracy", "minority_recall", "macro_f1")
            )
            for d in datasets
        ]
        rows.append([method, *cells])
    return table(["method", *[f"{d}: bal. acc. / minority recall / macro-F1" for d in datasets]], rows)


def augment() -> str:
    summary = load("augment")["summary"]
    rows = [
        [method, pm(s["balanced_accuracy"]), pm(s["minority_recall"]), pm(s["macro_f1"])]
        for method, s in summary.items()
    ]
    return table(["method", "balanced accuracy", "recall of 'other'", "macro-F1"], rows)


def auto_select() -> str:
    rows = []
    for r in load("auto_select")["rows"]:
        cv = r["cv_scores"]
        test = r["test_accuracy_candidates"]
        two_stage = r["skipped"].get("two-stage")
        two_stage = f"skipped: estimated {r['two_stage_estimate_seconds']:,.0f} s" if two_stage else ""
        rows.append(
            [
                r["task"],
                r["chosen"],
                " / ".join(f"{cv[k]:.3f}" for k in ("probe", "classic", "concat")),
                f3(r["test_accuracy_chosen"]),
                *(f3(test[k]) for k in ("probe", "classic", "concat")),
                two_stage,
                f3(r["regret"]),
                f"{r['selection_seconds']:.0f}",
            ]
        )
    header = ["task", "chosen", "CV accuracy (probe / classic / concat)", "test acc.: chosen", "probe", "classic"]
    return table([*header, "concat", "two-stage", "regret", "selection s"], rows)


def auto_select_fewshot() -> str:
    rows = []
    for r in load("auto_select_fewshot")["rows"]:
        test = r["test_accuracy_candidates"]

        def cell(name: str, test=test, r=r) -> str:
            if name in test:
                return f3(test[name])
            return "over budget" if name in r.get("skipped", {}) else "n/a"

        rows.append(
            [
                f"{r['limit']} ({r['train_examples']})",
                r["seed"],
                r["chosen"],
                f3(r["test_accuracy_chosen"]),
                *(cell(k) for k in ("probe", "classic", "concat", "two-stage", "contrastive")),
                f3(r["regret"]),
                f"{r['auto_fit_seconds']:.0f}",
            ]
        )
    header = ["labelled (train)", "seed", "chosen", "test acc.", "probe", "classic", "concat", "two-stage"]
    return table([*header, "contrastive", "regret", "fit s"], rows)


def domain_adaptation() -> str:
    data = load("domain_adaptation")
    pairs = {"digits_fonts_to_mnist": "digits: fonts -> MNIST", "credit_to_lending": "credit -> lending"}
    methods = list(data["digits_fonts_to_mnist"]["methods"])
    rows = [[code(m), *(pm(data[p]["methods"][m]) for p in pairs)] for m in methods]
    table_text = table(["method", *pairs.values()], rows)
    picks = []
    for pair, label in pairs.items():
        chosen = ", ".join(f"{s['dev_choice']} ({s['score']:.3f})" for s in data[pair]["dev_selection"])
        picks.append(f"- DEV's pick per seed, {label}: {chosen}")
    return table_text + "\n\n" + "\n".join(picks)


RL_LABELS = {
    "cartpole": "CartPole pole 0.5 -> 1.0 m",
    "halfcheetah": "HalfCheetah torso mass x1.5 (250-step episodes)",
    "minigrid": "MiniGrid DoorKey 5x5 -> 8x8",
    "highway": "highway-fast -> merge",
}


def _interval(stats: dict[str, Any], digits: int = 1) -> str:
    if stats["mean"] is None:
        return "n/a"
    if stats["low"] is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} [{stats['low']:.{digits}f}, {stats['high']:.{digits}f}]"


def _threshold_time(stats: dict[str, Any], seeds: int) -> str:
    if stats["mean"] is None:
        return "never"
    return f"{stats['mean']:.0f} ({stats['n']}/{seeds})"


def rl_transfer() -> str:
    tasks = load("rl_transfer")["tasks"]
    rows = []
    for key, label in RL_LABELS.items():
        t = tasks[key]
        fig = t["figures"]
        seeds = len(t["seeds"])
        rows.append(
            [
                label,
                f"{t['pretrain_steps']:,} / {t['transfer_steps']:,}",
                f"{t['source_final_return']:.1f}",
                _interval(fig["jumpstart"]),
                f"{fig['asymptotic_transfer']['mean']:.1f} / {fig['asymptotic_scratch']['mean']:.1f}",
                f"{_threshold_time(fig['time_to_threshold_transfer'], seeds)} / "
                f"{_threshold_time(fig['time_to_threshold_scratch'], seeds)} (threshold {t['threshold']:g})",
                _interval(fig["area_ratio"], 2),
                "**yes**" if t["negative_transfer"] else "no",
                f"{t['seconds']['total']:.0f}",
            ]
        )
    header = ["pair", "PPO steps: source / target", "source return", "jumpstart", "final return: transfer / scratch"]
    header += ["time to threshold (steps): transfer / scratch", "area ratio", "negative transfer (file)", "seconds"]
    return table(header, rows)


# -- ranking --------------------------------------------------------------------------------------------------

SCORES = ["logme", "leep", "nce", "h_score", "knn", "linear"]
SCORE_LABELS = {
    "logme": "LogME",
    "leep": "LEEP",
    "nce": "NCE",
    "h_score": "H-score",
    "gbc": "GBC",
    "nleep": "N-LEEP",
    "knn": "5-NN CV",
    "linear": "linear CV",
}
RANKING_FILES = {
    "digits": ["ranking", "ranking-digits-seed1", "ranking-digits-seed2"],
    "mnist": ["ranking", "ranking-mnist-seed1", "ranking-mnist-seed2"],
    "fine-food": ["ranking", "ranking-reviews-seed1", "ranking-reviews-seed2"],
    "photos": ["ranking", "ranking-photos-seed1", "ranking-photos-seed2"],
}


def _used_scores(dataset: dict[str, Any]) -> list[str]:
    seen = set()
    for c in dataset["candidates"]:
        seen |= {k for k, v in c["sample_ranking"]["scores"].items() if v is not None}
    return [s for s in SCORES if s in seen]


def ranking_candidates(name: str) -> str:
    dataset = load("ranking")["datasets"][name]
    scores = _used_scores(dataset)
    rows = []
    ordered = sorted(dataset["candidates"], key=lambda c: -(c["sample_ranking"]["scores"].get("logme") or -1e9))
    for c in ordered:
        values = c["sample_ranking"]["scores"]
        cells = [
            "" if values.get(s) is None else (f3(values[s]) if s in ("logme", "knn", "linear") else f2(values[s]))
            for s in scores
        ]
        trained = c["trained"]
        rows.append(
            [
                code(c["spec"]),
                *cells,
                f3(trained["probe"]["accuracy"]),
                f3(trained["two-stage"]["accuracy"]),
                f"{trained['two-stage']['seconds']:.0f}",
            ]
        )
    header = ["candidate", *(SCORE_LABELS[s] for s in scores)]
    return table([*header, "probe test acc.", "two-stage test acc.", "two-stage s"], rows)


def ranking_tau(name: str) -> str:
    dataset = load("ranking")["datasets"][name]
    scores = _used_scores(dataset)
    taus = dataset["kendall_tau"]
    rows = []
    for strategy in ("probe", "two-stage"):
        for where in ("sample", "all_rows"):
            for pool, label in (("all", "every candidate"), ("without_random_controls", "without the random control")):
                values = taus[where][strategy][pool]
                best = max(v for s, v in values.items() if s in scores and v is not None)
                cells = [
                    ""
                    if values.get(s) is None
                    else (f"**{values[s]:.2f}**" if values[s] == best else f"{values[s]:.2f}")
                    for s in scores
                ]
                rows.append([f"{strategy}, {label}", f"{dataset['rank_examples'][where]} rows", *cells])
    return table(["Kendall's tau with test accuracy", "ranking on", *(SCORE_LABELS[s] for s in scores)], rows)


def ranking_time(name: str) -> str:
    rows = []
    for file in RANKING_FILES[name]:
        data = load(file)
        if name not in data["datasets"]:
            continue
        d = data["datasets"][name]
        fraction = d["rank_time_fraction"]
        rows.append(
            [
                d["inputs"]["seed"],
                f"{d['rank_seconds']['sample']:.1f} s ({d['rank_examples']['sample']} rows)",
                f"{d['rank_seconds']['all_rows']:.1f} s ({d['rank_examples']['all_rows']} rows)",
                f"{d['train_seconds']['two-stage']:,.0f} s",
                f"{fraction['sample']['two-stage']:.1%}",
                f"{fraction['all_rows']['two-stage']:.1%}",
                code(d["recommended_by_logme"]["sample"]),
                code(d["best_by_strategy"]["two-stage"]),
            ]
        )
    header = ["seed", "ranking: sample", "ranking: all rows", "two-stage, every candidate", "share: sample"]
    return table([*header, "share: all rows", "LogME's pick (sample)", "best after two-stage"], rows)


def ranking_draws(name: str) -> str:
    """Two-stage test accuracy of each candidate on each draw, and the taus of three scores per draw."""
    draws = [load(f)["datasets"][name] for f in RANKING_FILES[name] if name in load(f)["datasets"]]
    specs = [c["spec"] for c in draws[0]["candidates"]]
    accuracy = {
        (i, c["spec"]): c["trained"]["two-stage"]["accuracy"] for i, d in enumerate(draws) for c in d["candidates"]
    }
    probe = {(i, c["spec"]): c["trained"]["probe"]["accuracy"] for i, d in enumerate(draws) for c in d["candidates"]}
    rows = []
    means = {}
    for spec in specs:
        values = [accuracy.get((i, spec)) for i in range(len(draws))]
        present = [v for v in values if v is not None]
        probes = [probe[(i, spec)] for i in range(len(draws)) if (i, spec) in probe]
        means[spec] = statistics.mean(present)
        rows.append([code(spec), *(f3(v) for v in values), f3(means[spec]), f3(statistics.mean(probes))])
    rows.sort(key=lambda row: -float(row[-2]))
    taus = []
    for d in draws:
        t = d["kendall_tau"]["sample"]["two-stage"]["all"]
        taus.append(f"{t['logme']:.2f} ({t['knn']:.2f}, {t['linear']:.2f})")
    rows.append(["tau, LogME (5-NN CV, linear CV)", *taus, "", ""])
    seeds = [f"seed {d['inputs']['seed']}" for d in draws]
    return table(["two-stage test accuracy", *seeds, "mean", "probe, mean"], rows)


def ranking_targets() -> str:
    """Per dataset: ranking's share of fine-tuning time and the best tau against two-stage, on every draw."""
    names = {"digits": "digits", "mnist": "MNIST", "fine-food": "fine-food reviews", "photos": "photos"}
    time_row, tau_row, probe_row = ["ranking (sample) in at most 5% of two-stage's time"], [], []
    tau_row = ["Kendall's tau >= 0.6 between the best score and two-stage accuracy (sample)"]
    probe_row = ["(for reference) the best tau against probe accuracy (sample)"]
    for name in names:
        draws = [load(f)["datasets"][name] for f in RANKING_FILES[name] if name in load(f)["datasets"]]
        shares = [d["rank_time_fraction"]["sample"]["two-stage"] for d in draws]
        met = sum(share <= 0.05 for share in shares)
        time_row.append(
            f"{'**met**' if met == len(shares) else f'met on {met} of {len(shares)}'}: "
            + ", ".join(f"{share:.1%}" for share in shares)
        )
        bests, probes = [], []
        for d in draws:
            two = {k: v for k, v in d["kendall_tau"]["sample"]["two-stage"]["all"].items() if v is not None}
            probe = {k: v for k, v in d["kendall_tau"]["sample"]["probe"]["all"].items() if v is not None}
            best = max(two, key=two.get)
            bests.append((two[best], best))
            best_probe = max(probe, key=probe.get)
            probes.append(f"{probe[best_probe]:.2f} ({SCORE_LABELS[best_probe]})")
        met = sum(value >= 0.6 for value, _ in bests)
        tau_row.append(
            f"{'**met**' if met == len(bests) else f'met on {met} of {len(bests)}'}: "
            + ", ".join(f"{value:.2f} ({SCORE_LABELS[score]})" for value, score in bests)
        )
        probe_row.append(", ".join(probes))
    header = ["target (issue 6), per draw: seed 0, 1, 2", *names.values()]
    return table(header, [time_row, tau_row, probe_row])


def ranking_confirm() -> str:
    draws = load("ranking_confirm")["draws"]
    order = ["fine-food", "digits", "photos", "mnist"]
    arms = [
        ("LogME's pick", lambda d: d["score_regrets"]["logme"]),
        ("5-NN CV's pick", lambda d: d["score_regrets"]["knn"]),
        ("linear CV's pick", lambda d: d["score_regrets"]["linear"]),
        ("`--confirm 2` (top two by LogME, pick by validation)", lambda d: d["confirm_regret"]),
        ("the better of those two (what confirming could reach)", lambda d: d["best_of_confirmed_regret"]),
        ("a pretrained candidate at random (expected)", lambda d: d["score_regrets"]["random_pretrained_pick"]),
        ("any candidate at random, control included (expected)", lambda d: d["score_regrets"]["random_pick"]),
    ]
    rows = []
    for label, get in arms:
        cells = []
        every = []
        for name in order:
            values = [get(d) for d in draws[name]]
            every += values
            cells.append(" / ".join("0" if v == 0 else f"{v:.3f}" for v in values))
        rows.append([label, *cells, f"{statistics.mean(every):.3f}"])
    header = ["regret of the pick (two-stage test accuracy)", "reviews, seeds 0 / 1 / 2", "digits", "photos", "MNIST"]
    return table([*header, "mean of 12"], rows)


def ranking_confirm_cost() -> str:
    draws = load("ranking_confirm")["draws"]
    rows = []
    for name, items in draws.items():
        for d in items:
            rows.append(
                [
                    name,
                    d["seed"],
                    code(d["logme_pick"]),
                    code(d["confirm_pick"]),
                    f"{d['rank_seconds']:.1f}",
                    f"{d['confirm_seconds']:.0f}",
                    f"{d['fine_tune_all_seconds']:,.0f}",
                    f"{d['rank_and_confirm_fraction']:.0%}",
                ]
            )
    header = ["dataset", "seed", "LogME's pick", "`--confirm 2` pick", "rank s", "confirm s", "fine-tune all s"]
    return table([*header, "rank + confirm share"], rows)


def ranking_rescore() -> str:
    summary = load("ranking_rescore")["summary"]
    datasets = ["fine-food", "digits", "photos", "mnist"]
    rows = []
    for score in ["logme", "leep", "nce", "h_score", "gbc", "nleep", "knn", "linear"]:
        overall = summary["all_draws"][score]
        per = [summary[d].get(score) for d in datasets]
        rows.append(
            [
                SCORE_LABELS[score],
                *(
                    "" if p is None or p["mean_tau_two_stage"] is None else f"{p['mean_tau_two_stage']:.2f}"
                    for p in per
                ),
                f"{overall['draws_at_tau_target']} of {overall['draws']}",
                f"{overall['mean_tau_probe']:.2f}",
                f"{overall['mean_regret']:.3f}",
            ]
        )
    header = ["score", "mean tau vs two-stage: reviews", "digits", "photos", "MNIST", "draws with tau >= 0.6"]
    return table([*header, "mean tau vs probe", "mean regret of the pick"], rows)


# -- forecasting -----------------------------------------------------------------------------------------------

FORECAST_MODELS = [
    "zero-shot",
    "finetune",
    "head-only",
    "target-only",
    "AutoETS",
    "AutoARIMA",
    "SeasonalNaive",
    "Naive",
]
FORECAST_PATCHTST = ["PatchTST zero-shot", "PatchTST finetune", "PatchTST head-only", "PatchTST target-only"]


def forecast_transfer(name: str = "forecast_transfer", columns: tuple[str, ...] = tuple(FORECAST_MODELS)) -> str:
    """MASE per held-out series and model (bold: the lowest of all the results' models; '-' where a results file
    predates a model), and which models beat the naive forecast."""
    rows = []
    for r in load(name)["results"]:
        models = r["models"]
        best = min(models, key=lambda name: models[name]["mase"])
        cells = [
            "-" if m not in models else f"**{f3(models[m]['mase'])}**" if m == best else f3(models[m]["mase"])
            for m in columns
        ]
        beats = [m for m in models if m != "Naive" and models[m]["mase"] < models["Naive"]["mase"]]
        rows.append([r["target"], ", ".join(r["sources"]), *cells, ", ".join(beats) or "**nothing**"])
    return table(["target", "pretrained on", *columns, "beats naive"], rows)


def forecast_transfer_patchtst(name: str = "forecast_transfer") -> str:
    """The PatchTST arms beside the NHITS finetune arm and the naive forecast."""
    return forecast_transfer(name, columns=(*FORECAST_PATCHTST, "finetune", "Naive"))


# -- multi-label and regression (issue 23) -----------------------------------------------------------------------

MULTILABEL_ARMS = {"transferkit_probe": "transferkit probe", "transferkit_contrastive": "transferkit contrastive"}


def multilabel_vs_setfit() -> str:
    """Macro-F1 and seconds per K and arm, with each transferkit arm against the target (higher macro-F1 than
    SetFit in at most half its time)."""
    rows = []
    for k, stats in load("multilabel_vs_setfit").get("summary", {}).items():
        peer = stats.get("setfit")
        for arm, label in [*MULTILABEL_ARMS.items(), ("setfit", "SetFit one-vs-rest")]:
            if arm not in stats:
                continue
            entry = stats[arm]
            ratio = entry.get("time_ratio_vs_setfit")
            verdict = "" if arm == "setfit" or not peer else ("met" if entry.get("target_met") else "**missed**")
            cells = [f3(entry["macro_f1"]), f"{entry['seconds']:.1f}", "" if ratio is None else f"{ratio:.2f}"]
            rows.append([k, label, entry["seeds"], entry["train_rows"], *cells, verdict])
    header = ["K per genre", "arm", "seeds", "training titles", "macro-F1", "seconds", "time / SetFit's", "target"]
    return table(header, rows)


REGRESSION_ARMS = ["transfer", "scratch", "linear", "hgb"]


def regression_transfer() -> str:
    """Test R² (MAE) per dataset, training size and arm, bold where an arm has the best R²."""
    rows = []
    for dataset, sizes in load("regression_transfer").get("summary", {}).items():
        for size, entry in sizes.items():
            arms = [arm for arm in REGRESSION_ARMS if arm in entry]
            best = max(arms, key=lambda arm: entry[arm]["r2"])
            cells = []
            for arm in REGRESSION_ARMS:
                if arm not in entry:
                    cells.append("")
                    continue
                text = f"{entry[arm]['r2']:.3f} ({entry[arm]['mae']:.4g})"
                cells.append(f"**{text}**" if arm == best else text)
            seeds = entry[arms[0]]["seeds"]
            rows.append([dataset, size, seeds, *cells, "yes" if entry.get("transfer_best") else "no"])
    header = ["data", "training rows", "seeds", *(f"{arm}: R² (MAE)" for arm in REGRESSION_ARMS), "transfer best"]
    return table(header, rows)


def default_regret() -> str:
    """Issue 21: the default fit vs every fixed strategy and the classic peer, on sets the policy was not built from."""
    data = load("default_regret")
    header = ["set", "per class", "seed", "default", "default chose (decided by)", "fixed strategies", "classic peer"]
    header += ["regret", "peer gap", "ensemble (out of fold)"]
    rows = []
    for r in data["results"]:
        fixed = ", ".join(f"{name} {f3(value)}" for name, value in r["fixed"].items())
        choice = r["default_choice"] or {}
        chosen = f"{choice.get('chosen')} ({choice.get('decided_by')})" if choice else "-"
        rows.append([r["set"], r["per_class"], r["seed"], f3(r["default"]), chosen, fixed, f3(r["peer_classic"])])
        rows[-1] += [f"{r['regret']:+.3f}", f"{r['peer_gap']:+.3f}", _ensemble_cell(choice)]
    s = data["summary"]
    line = (
        f"Mean regret {s['mean_regret']:+.3f} (target <= {s['target_mean_regret_at_most']}), largest "
        f"{s['max_regret']:+.3f}; worst gap to the classic peer {s['worst_peer_gap']:+.3f} (target <= "
        f"{s['target_peer_gap_at_most']})."
    )
    by_modality = s.get("by_modality") or {}
    if by_modality:  # the targets per modality: tables (many cheap cells) weigh as much as text and images
        parts = [
            f"{modality} ({m['cells']} cells): mean regret {m['mean_regret']:+.3f}, largest {m['max_regret']:+.3f}, "
            f"worst peer gap {m['worst_peer_gap']:+.3f}, {m['cells_peer_gap_over_0.02']} cell(s) more than 0.02 "
            "below the peer"
            for modality, m in by_modality.items()
        ]
        line += " By modality: " + "; ".join(parts) + "."
    return table(header, rows) + "\n\n" + line


def _ensemble_cell(choice: dict) -> str:
    """Issue 21: the default fit's ensemble of cheap candidates in a cell: not recorded, not scored, lost, or won
    (saved, with the same fit's test accuracy when the single choice was saved instead: ensemble_ab)."""
    record = choice.get("ensemble")
    if not record:
        return "-"
    if "mean" not in record:
        return "not scored (budget)"
    if not record.get("would_win"):
        return f"{f3(record['mean'])}, did not win"
    ab = choice.get("ensemble_ab")
    if not record.get("saved"):
        return f"{f3(record['mean'])}, won, not saved"
    return f"{f3(record['mean'])}, saved" + (f": test {f3(ab['ensemble'])} vs single {f3(ab['default'])}" if ab else "")


def default_regret_ensemble() -> str:
    """Issue 21: the cheap candidates' ensemble per cell, out of fold and on the test rows (--ensemble-evidence)."""
    rows = []
    for e in load("default_regret").get("ensemble_evidence", []):
        record = e["ensemble"]
        weights = ", ".join(f"{name} {weight:g}" for name, weight in record.get("weights", {}).items())
        versus = e["versus"] + (f" (for {e['recorded_choice']})" if e["recorded_choice"] not in e["cv_means"] else "")
        rows.append([e["set"], e["per_class"], e["seed"], versus, f3(e["cv_means"][e["versus"]])])
        rows[-1] += [f3(record.get("mean")), weights, "yes" if record.get("would_win") else "no"]
        rows[-1] += [f3(e["test_single"]), f3(e["test_ensemble"]) if "test_ensemble" in e else "- (not saved)"]
    header = ["set", "per class", "seed", "versus", "its CV", "ensemble CV", "weights (all folds)", "wins"]
    return table([*header, "test: single", "test: ensemble"], rows)


def default_policy() -> str:
    """Issue 21: auto's recorded prior, as shipped (src/transferkit/strategies/policy.json)."""
    entries = [e for e in load("default_policy")["policy"]["entries"] if e["family"] != "*"]
    header = ["modality", "backbone", "size", "ranking: strategy (gain over the probe, spread, runs)"]
    rows = [
        [
            e["modality"],
            code(e["family"]),
            e["bucket"] + (f" ({e['resolution']} resolution)" if e.get("resolution") else ""),
            "; ".join(
                f"{r['strategy']} ({r['gain_over_probe']:+.3f}, {f3(r['spread'])}, {r['runs']})" for r in e["ranking"]
            ),
        ]
        for e in entries
    ]
    return table(header, rows)


def demo_default() -> str:
    """Issue 21: `transferkit demo` with the default fit."""
    data = load("demo_default")
    header = ["seed", "test accuracy", "majority rate", "chosen", "decided by", "scaled", "seconds", "load at start"]
    rows = [
        [
            r["seed"],
            f3(r["test_accuracy"]),
            f3(r["majority_rate"]),
            r["chosen"],
            r["decided_by"],
            "; ".join(f"{k}: {v['epochs']} of {v['of']} epochs" for k, v in (r.get("scaled") or {}).items()) or "-",
            r["seconds"],
            r["loadavg_1min_at_start"],
        ]
        for r in data["results"]
    ]
    return table(header, rows)


def demo_falloff() -> str:
    """Issue 21: two-stage's test accuracy when its epochs are cut (what auto's scaled final fit may train)."""
    runs = load("demo_default").get("falloff", {}).get("runs", [])
    header = ["data", "seed", "training rows", "stage 1 only", "1 epoch", "2 epochs", "3 epochs", "4 epochs", "load"]
    rows = [
        [r["data"], r["seed"], r["train_rows"], *map(f3, r["test_accuracy_after_epoch"]), r["loadavg_1min_at_start"]]
        for r in runs
    ]
    return table(header, rows)


def serve_load(name: str = "serve_load") -> str:
    """Issue 25: transferkit serve on loopback, per model: each concurrency level, one-at-a-time, the sustained run."""
    data = load(name)
    header = ["model", "server", "round", "clients", "requests", "failed", "requests/s", "p50 ms", "p99 ms"]
    cpu = "server_cpu_ms_per_request" in data["models"][0]["levels"][0]
    header += ["server CPU ms / request", "load"] if cpu else []
    rows = []
    for m in data["models"]:
        batched = "batched (max 8, 5 ms)" if "max_batch 8" in data["settings"]["server"] else "batched (max 32, 5 ms)"
        for label, key in ((batched, "levels"), ("one at a time (max 1)", "unbatched")):
            for r in m[key]:
                rows.append([m["model"], label, r.get("round", 0), r["clients"], r["requests"], r["failed"]])
                rows[-1] += [f2(r["throughput_per_s"]), r["p50_ms"], r["p99_ms"]]
                rows[-1] += [r["server_cpu_ms_per_request"], r["load_average"]] if cpu else []
    lines = []
    for m in data["models"]:
        s, rss = m["sustained"], m["sustained"].get("rss_mb", {})
        if "batching_gain" in m and cpu:
            gain = "; ".join(
                f"{c} clients {g['median']:.2f}x (median of rounds {', '.join(f'{v:.2f}' for v in g['per_round'])}; "
                f"all requests {g['overall']:.2f}x; server CPU ms per request {g['cpu_ms_per_request']['batched']} "
                f"vs {g['cpu_ms_per_request']['unbatched']})"
                for c, g in m["batching_gain"].items()
            )
        elif "batching_gain" in m:
            gain = "; ".join(
                f"{c} clients {g['overall']:.2f}x (rounds {', '.join(f'{v:.2f}' for v in g['per_round'])})"
                for c, g in m["batching_gain"].items()
            )
        else:
            gain = f"32 clients {m['batching_gain_at_32_clients']:.2f}x"
        health = m.get("batched_server_health")
        chosen = ""
        if health:
            sizes = ", ".join(f"{size}: {ms}" for size, ms in health["ms_per_input"].items())
            what = "CPU ms per input by size" if cpu else "ms per input by size, idle included"
            chosen = f"; batch size at the end {health['call_size']} ({what}: {sizes})"
        slope = rss.get("slope_mb_per_1000_requests")
        lines.append(
            f"- **{m['model']}**: batching's gain (requests/s, batched / one at a time) {gain}"
            + chosen
            + f". Sustained {data['settings']['sustained_seconds']:.0f} s at 32 clients: {s['requests']} requests, "
            f"{s['failed']} failed, {f2(s['throughput_per_s'])} requests/s, p99 {s['p99_ms']} ms; server RSS "
            f"{rss.get('start')} MB at the start, {rss.get('end')} MB at the end (max {rss.get('max')}, "
            f"{rss.get('samples')} samples)"
            + (f", slope after warm-up {slope:+.2f} MB per 1,000 requests" if slope is not None else "")
            + (
                f"; end {rss['growth_after_warm_up_pct']:+.1f}% and max {rss['max_over_warm_up_pct']:+.1f}% over the "
                f"sample after warm-up ({rss['after_warm_up']} MB); {m['batched_rss_mb_when_ready']} MB when the "
                "server was ready (after its own warm-up, before any request)."
                if "growth_after_warm_up_pct" in rss
                else "."
            )
        )
    return table(header, rows) + "\n\n" + "\n".join(lines)


def runtime_batch() -> str:
    """Issue 25: the runtime alone, inputs per second at batch 32 / 8 / 1 (median of the rounds, and each round)."""
    data = load("runtime_batch")
    rows = []
    for r in data["rows"]:
        for size, rates in r["inputs_per_s"].items():
            rows.append([r["model"], size, f2(r["median"][size]), ", ".join(f2(v) for v in rates)])
    return table(["model", "batch size", "inputs/s (median)", "each round"], rows)


def embed_int8_check() -> str:
    """Issue 25: int8 MiniLM embedding graph vs fp32: speed and cosine against the 0.9999 bar."""
    data = load("embed_int8_check")
    rates, cosine = data["texts_per_s_median"], data["cosine_int8_vs_fp32"]
    rows = [
        ["fp32 (fused)", f2(rates["fp32"]), "", ""],
        [
            "int8 dynamic",
            f2(rates["int8"]),
            f"{cosine['min']:.4f} / {cosine['median']:.4f}",
            f"{data['int8_speedup']:.2f}x",
        ],
    ]
    labels = {"int8_ffn": "int8 feed-forward only", "int8_ffn_in": "int8 first feed-forward MatMul only"}
    for name, part in data.get("partial", {}).items():
        part_cosine = part["cosine_vs_fp32"]
        rows.append(
            [
                f"{labels.get(name, name)} ({part['quantised_matmuls']} MatMuls; attention fp32)",
                f2(rates[name]),
                f"{part_cosine['min']:.4f} / {part_cosine['median']:.4f}",
                f"{part['speedup']:.2f}x",
            ]
        )
    verdict = "passes" if data["passes"] else "fails"
    note = (
        f"\n\nint8 {verdict} the cosine bar of {data['bar']} ({cosine['share_at_or_above_bar']:.0%} of texts reach it)."
    )
    for name, part in data.get("partial", {}).items():
        verdict = "passes" if part["passes"] else "fails"
        share = part["cosine_vs_fp32"]["share_at_or_above_bar"]
        note += f" {labels.get(name, name)} {verdict} it ({share:.0%} of texts reach it)."
    return table(["graph", "texts/s (median)", "cosine to fp32 (min / median)", "speed vs fp32"], rows) + note


def bundle_quantised() -> str:
    """Issue 25: bundle (fp32, int8) vs the PyTorch model on real test sets: accuracy, parity, speed, size."""
    data = load("bundle_quantised")
    header = ["model", "runtime", "test accuracy", "max abs diff vs PyTorch", "decisions changed", "inputs/s"]
    header.append("graph MB")
    rows = []
    for r in data["rows"]:
        pytorch = r["pytorch"]
        rows.append([r["model"], "PyTorch", f3(pytorch["accuracy"]), "", "", pytorch["inputs_per_s"], ""])
        for precision in ("fp32", "int8"):
            p = r[precision]
            changed = f"{p['decisions_changed_vs_pytorch']} / {r['test_inputs']}"
            difference = f"{p['max_abs_diff_vs_pytorch']:.1e}"
            rows.append([r["model"], f"bundle {precision}", f3(p["accuracy"]), difference, changed, p["inputs_per_s"]])
            rows[-1].append(p["graph_mb"])
    lines = [
        f"- **{r['model']}**: int8 changes test accuracy by {r['int8_accuracy_change']:+.3f} and runs "
        f"{r['int8_speedup']:.2f}x the fp32 graph's rate."
        for r in data["rows"]
    ]
    return table(header, rows) + "\n\n" + "\n".join(lines)


def classic_bundle() -> str:
    """Issue 25: bundles of classic / concat models vs the PyTorch model on real test sets: parity, speed, size."""
    data = load("classic_bundle")
    header = ["model", "test inputs", "max abs diff vs PyTorch", "decisions changed", "accuracy (PyTorch / bundle)"]
    header += ["inputs/s PyTorch", "inputs/s bundle", "bundle / PyTorch", "bundle MB (vocabulary)"]
    rows = []
    for r in data["rows"]:
        accuracy = f"{f3(r['pytorch']['accuracy'])} / {f3(r['bundle']['accuracy'])}"
        size = f"{r['bundle_mb']}" + (f" ({r['classic_json_mb']})" if r["classic_json_mb"] else "")
        rows.append(
            [
                r["model"],
                r["test_inputs"],
                f"{r['max_abs_diff_vs_pytorch']:.1e}",
                f"{r['decisions_changed_vs_pytorch']} / {r['test_inputs']}",
                accuracy,
                r["pytorch"]["inputs_per_s"],
                r["bundle"]["inputs_per_s"],
                f"{r['speed_ratio']:.2f}x",
                size,
            ]
        )
    worst = max(r["max_abs_diff_vs_pytorch"] for r in data["rows"])
    verdict = "met" if worst <= data["inputs"]["tolerance"] else "missed"
    return table(header, rows) + f"\n\nLargest difference {worst:.1e} against the 1e-4 target: {verdict}."


TABLES: dict[str, Callable[[], str]] = {
    "demo": demo,
    "demo_default": demo_default,
    "default_regret": default_regret,
    "default_regret_ensemble": default_regret_ensemble,
    "default_policy": default_policy,
    "backbone_speed": backbone_speed,
    "embed_throughput": embed_throughput,
    "predict_throughput": predict_throughput,
    "predict_memory": predict_memory,
    "two_stage_vs_probe": two_stage_vs_probe,
    "finetune_memory": finetune_memory,
    "vs_setfit": vs_setfit,
    "vs_setfit_per_seed": vs_setfit_per_seed,
    "vs_fastai": vs_fastai,
    "vs_fastai_per_seed": vs_fastai_per_seed,
    "vs_setfit_more": vs_setfit_more,
    "probe_vs_frozen_loop": probe_vs_frozen_loop,
    "imbalance": imbalance,
    "augment": augment,
    "auto_select": auto_select,
    "auto_select_fewshot": auto_select_fewshot,
    "domain_adaptation": domain_adaptation,
    "rl_transfer": rl_transfer,
    "forecast_transfer": forecast_transfer,
    "forecast_transfer_us_stocks": lambda: forecast_transfer("forecast_transfer_us_stocks"),
    "forecast_transfer_patchtst": forecast_transfer_patchtst,
    "forecast_transfer_us_stocks_patchtst": lambda: forecast_transfer_patchtst("forecast_transfer_us_stocks"),
    "multilabel_vs_setfit": multilabel_vs_setfit,
    "regression_transfer": regression_transfer,
    "ranking_targets": ranking_targets,
    "ranking_confirm": ranking_confirm,
    "ranking_confirm_cost": ranking_confirm_cost,
    "ranking_rescore": ranking_rescore,
    "serve_load": serve_load,
    "serve_load_arena": lambda: serve_load("serve_load_arena"),
    "runtime_batch": runtime_batch,
    "bundle_quantised": bundle_quantised,
    "classic_bundle": classic_bundle,
    "embed_int8_check": embed_int8_check,
}
for _name in RANKING_FILES:
    TABLES[f"ranking_candidates:{_name}"] = lambda n=_name: ranking_candidates(n)
    TABLES[f"ranking_tau:{_name}"] = lambda n=_name: ranking_tau(n)
    TABLES[f"ranking_time:{_name}"] = lambda n=_name: ranking_time(n)
    TABLES[f"ranking_draws:{_name}"] = lambda n=_name: ranking_draws(n)


# -- the labelling loop (issue 26) ------------------------------------------------------------------------------


def _missing(name: str) -> str | None:
    return None if (RESULTS / f"{name}.json").is_file() else f"*`benchmarks/{name}.py` has not been run yet.*"


def active_learning() -> str:
    """Issue 26: mean test accuracy (3 seeds) against labels for random sampling and each strategy."""
    if note := _missing("active_learning"):
        return note
    data = load("active_learning")
    parts = []
    for name, d in data["datasets"].items():
        shown = [index for index, count in enumerate(d["labels"]) if count in (0, 20, 40, 60, 80, 100, 120, 160, 200)]
        header = ["strategy", *[str(d["labels"][i]) for i in shown], "labels to match random at 200"]
        rows = [
            [s, *[f3(curve[i]) for i in shown], d["labels_to_match_random_200"].get(s) or "not reached"]
            for s, curve in d["mean_accuracy"].items()
        ]
        met = "met" if d["target_met"] else "missed"
        parts.append(
            f"**{name}** ({d['backbone']}; pool {d['pool']}, test {d['test']}; majority rate "
            f"{f3(d['majority_rate'])} at 0 labels): random at 200 labels {f3(d['random_at_200'])}; target {met}.\n\n"
            + table(header, rows)
        )
    return "\n\n".join(parts)


def label_audit() -> str:
    """Issue 26: 10% flipped labels: the audit's precision / recall and what --drop-suspect regains."""
    if note := _missing("label_audit"):
        return note
    data = load("label_audit")
    header = ["dataset", "flipped", "flagged", "precision", "recall", "precision at recall 0.5"]
    header += ["accuracy: noisy", "without flagged", "true labels", "audit s", "target"]
    rows = []
    for name, d in data["datasets"].items():
        rows.append([f"{name} ({d['backbone']})", d["flipped"], d["flagged"], f3(d["precision"]), f3(d["recall"])])
        rows[-1] += [f3(d["precision_at_recall_0.5"]), f3(d["accuracy_noisy"]), f3(d["accuracy_drop_suspect"])]
        rows[-1] += [f3(d["accuracy_true_labels"]), d["audit_seconds"], "met" if d["target_met"] else "missed"]
    if (sentiment := data.get("sentiment_task")) and not sentiment.get("measured"):  # no star ratings in the data
        rows.append([f"{sentiment['task']}: not measured (no star ratings in the data)", *["-"] * 10])
    parts = [table(header, rows)]
    for name, d in data["datasets"].items():  # each audit model alone and the means of them (the adopted one in bold)
        if "models_alone_and_means" not in d:
            continue
        scored = sorted(d["models_alone_and_means"].items(), key=lambda item: -item[1]["precision_at_recall_0.5"])
        bold = {d["models"]: f"**{d['models']}**"}
        lines = [
            [bold.get(models, models), f3(r["cross_validated_accuracy"]), f3(r["precision_at_recall_0.5"])]
            for models, r in scored
        ]
        parts.append(f"{name}, each audit model's out-of-fold probabilities alone and averaged:")
        parts.append(table(["models (mean of)", "cross-validated accuracy", "precision at recall 0.5"], lines))
    return "\n\n".join(parts)


def zero_shot() -> str:
    """Issue 26: zero-shot accuracy on all 5,000 reviews per wording and method, and the few-shot hand-over."""
    if note := _missing("zero_shot"):
        return note
    data = load("zero_shot")
    methods = list(next(iter(data["zero_shot"].values())))
    header = ["wording", "labels text", *methods]
    rows = [
        [key, code(data["wordings"][key]), *[f3(scores[m]["accuracy"]) for m in methods]]
        for key, scores in data["zero_shot"].items()
    ]
    few = ", ".join(f"{count} per class {f3(value)}" for count, value in data["few_shot"].items())
    line = (
        f"Majority rate {f3(data['majority_rate'])} (all rows), {f3(data['test_majority_rate'])} (test rows). "
        f"The probe on random labelled reviews, test accuracy (3 seeds): {few}."
    )
    return table(header, rows) + "\n\n" + line


def distillation() -> str:
    """Issue 26: teacher vs distilled student: accuracy, size, latency measured side by side."""
    if note := _missing("distillation"):
        return note
    d = load("distillation")
    header = ["model", "backbone", "test accuracy", "parameters", "ms per input"]
    rows = [
        ["teacher", d["teacher_backbone"], f3(d["teacher"]["accuracy"]), f"{d['teacher']['parameters']:,}"],
        ["student", d["student_backbone"], f3(d["student"]["accuracy"]), f"{d['student']['parameters']:,}"],
    ]
    rows[0].append(d["teacher"]["ms_per_input"])
    rows[1].append(d["student"]["ms_per_input"])
    line = (
        f"Gap {d['accuracy_gap_points']:+.2f} points, speed-up {d['speedup']:.2f}x, agreement {f3(d['agreement'])}; "
        f"the student's probe on the {d['labelled']} true labels alone: {f3(d['student_probe_on_true_labels_only'])}. "
        f"Target {'met' if d['target_met'] else 'missed'}."
    )
    return table(header, rows) + "\n\n" + line


TABLES |= {
    "active_learning": active_learning,
    "label_audit": label_audit,
    "zero_shot": zero_shot,
    "distillation": distillation,
}


# -- language models (issue 27) ----------------------------------------------------------------------------------

LM_CORPORA = {"lora": "fine-food reviews", "full": "fine-food reviews", "second-corpus": "movielens titles + genres"}


def _lm_arms() -> dict[str, Any]:
    return load("lm_transfer")["arms"]


def lm_transfer() -> str:
    """Issue 27: held-out perplexity of SmolLM2-135M before and after LoRA / full fine-tuning, with time and RSS."""
    arms = _lm_arms()
    header = ["arm", "corpus", "strategy", "base perplexity", "adapted perplexity", "reduction", "optimizer steps"]
    header += ["train s (stopped by)", "peak RSS MB", "test tokens", "load average (start / end)"]
    rows = []
    for arm, corpus in LM_CORPORA.items():
        if arm not in arms:
            continue
        r = arms[arm]
        rows.append(
            [
                arm,
                corpus,
                r["strategy"]["name"],
                f2(r["test"]["base_perplexity"]),
                f2(r["test"]["perplexity"]),
                f"{r['gain']['perplexity_reduction']:.1%}",
                r["strategy"]["steps"],
                f"{r['train_seconds']:.0f} ({r['strategy']['stopped_by']})",
                f"{r['peak_rss_mb']:,.0f}",
                r["test"]["tokens"],
                " / ".join(map(str, r["load_average"])),
            ]
        )
    return table(header, rows)


def lm_transfer_samples() -> str:
    """Issue 27: held-out reviews continued greedily by the base and the LoRA-adapted model (32 new tokens)."""
    samples = _lm_arms()["lora"]["samples"]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ⏎ ")

    rows = [[cell(s["prompt"]), cell(s["reference"][:80]), cell(s["base"]), cell(s["adapted"])] for s in samples]
    return table(["prompt (first words of a test review)", "the review goes on", "base", "LoRA-adapted"], rows)


def lm_transfer_pairs() -> str:
    """Issue 27: review -> sentiment word, LoRA-tuned vs the base prompted with three worked examples."""
    arms = _lm_arms()
    if "pairs" not in arms:
        return "_The pairs arm has not been run yet._"
    r = arms["pairs"]
    test = r["test"]
    header = ["model", "exact match", "ROUGE-L", "test pairs", "train pairs (used)", "train s", "load average"]
    used = r["data"]["train"]["pairs"]
    load_line = " / ".join(map(str, r["load_average"]))
    base = ["base SmolLM2, few-shot (3 examples)", f3(test["base_exact_match"]), f3(test["base_rouge_l"])]
    adapted = ["LoRA-tuned on pairs", f3(test["exact_match"]), f3(test["rouge_l"])]
    steps = f"{used} ({r['strategy']['steps']} steps)"
    rows = [
        [*base, test["examples"], "0", "0", ""],
        [*adapted, test["examples"], steps, f"{r['train_seconds']:.0f}", load_line],
    ]
    return table(header, rows)


def lm_transfer_speed() -> str:
    """Issue 27: greedy generation's tokens/s against the model's forward rate over a 128-token block."""
    arms = _lm_arms()
    if "speed" not in arms:
        return "_The speed arm has not been run yet._"
    r = arms["speed"]
    header = ["forward over a 128-token block (tokens/s)", "greedy generation (tokens/s)", "ratio", "load average"]
    ratio = r["generate_tokens_per_s"] / r["forward_tokens_per_s"]
    rows = [
        [r["forward_tokens_per_s"], r["generate_tokens_per_s"], f"{ratio:.3f}", " / ".join(map(str, r["load_average"]))]
    ]
    return table(header, rows)


TABLES |= {
    "lm_transfer": lm_transfer,
    "lm_transfer_samples": lm_transfer_samples,
    "lm_transfer_pairs": lm_transfer_pairs,
    "lm_transfer_speed": lm_transfer_speed,
}


# -- detection (issue 24) ----------------------------------------------------------------------------------------


def _detection_cells(*names: str) -> list[dict[str, Any]]:
    return [cell for name in names if (RESULTS / f"{name}.json").is_file() for cell in load(name)["cells"]]


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _before_fix(name: str) -> list[dict[str, Any]]:
    """The cells of a results file that ran with torchvision's zero FCOS box-side bias (kept, not shown as current)."""
    return load(name).get("before_fcos_bias_fix", {}).get("cells", []) if (RESULTS / f"{name}.json").is_file() else []


def detection_transfer() -> str:
    """Issue 24: mAP@.5 of the pretrained (frozen) backbone vs the same detector from random weights, per size.
    A size whose rerun with the FCOS box-bias fix is not complete shows its earlier cells, marked."""
    cells = _detection_cells("detection_transfer")
    sizes = _detection_cells("detection_transfer_sizes")
    for size in {c["train_images"] for c in _before_fix("detection_transfer_sizes")}:
        fixed = [c for c in sizes if c["train_images"] == size]
        if {c["arm"] for c in fixed} >= {"pretrained", "scratch"}:
            cells += fixed
        else:
            old = [c for c in _before_fix("detection_transfer_sizes") if c["train_images"] == size]
            cells += [c | {"train_images": f"{size} (before the fix)"} for c in old]
    header = ["training images", "seeds (pretrained / scratch)", "pretrained mAP@.5", "scratch mAP@.5", "ratio"]
    header += ["pretrained mAP"]
    header += ["scratch mAP", "train s (pretrained / scratch)", "mAP@.5 per seed (pretrained / scratch)"]
    rows = []
    for size in sorted({c["train_images"] for c in cells}, key=lambda s: int(str(s).split()[0])):
        arms = {
            arm: [c for c in cells if c["train_images"] == size and c["arm"] == arm]
            for arm in ("pretrained", "scratch")
        }
        if not arms["pretrained"] or not arms["scratch"]:
            continue
        p50 = [c["map_50"] for c in arms["pretrained"]]
        s50 = [c["map_50"] for c in arms["scratch"]]
        ratio = statistics.mean(p50) / statistics.mean(s50) if statistics.mean(s50) > 0 else float("inf")
        times = "/".join(
            f"{statistics.mean(c['train_seconds'] for c in arms[a]):.0f}" for a in ("pretrained", "scratch")
        )
        rows.append([size, f"{len(p50)} / {len(s50)}", _mean_std(p50), _mean_std(s50), f"{ratio:.1f}x"])
        rows[-1] += [
            _mean_std([c["map"] for c in arms["pretrained"]]),
            _mean_std([c["map"] for c in arms["scratch"]]),
            times,
        ]
        scratch = {c["seed"]: c["map_50"] for c in arms["scratch"]}
        seeds = sorted(c["seed"] for c in arms["pretrained"])
        by_seed = {c["seed"]: c["map_50"] for c in arms["pretrained"]}
        rows[-1].append(", ".join(f"{by_seed[s]:.3f} / {f3(scratch.get(s)) or '-'}" for s in seeds))
    return table(header, rows)


def detection_bias_fix() -> str:
    """Issue 24: mAP@.5 at 100 images per seed with torchvision's zero FCOS box-side bias and with transferkit's 1
    (plus the 20-epoch runs of seed 2 made before the cause was found)."""
    before = {(c["arm"], c["seed"]): c for c in _before_fix("detection_transfer")}
    after = {(c["arm"], c["seed"]): c for c in _detection_cells("detection_transfer")}
    longer = {
        c["arm"]: c for c in _detection_cells("detection_transfer_20_epochs", "detection_transfer_20_epochs_scratch")
    }
    header = ["seed", "pretrained, bias 0", "pretrained, bias 1", "scratch, bias 0", "scratch, bias 1"]
    header += ["ratio, bias 0", "ratio, bias 1"]
    rows = []
    for seed in sorted({seed for _, seed in before} | {seed for _, seed in after}):
        values = [
            (before.get(("pretrained", seed)) or {}).get("map_50"),
            (after.get(("pretrained", seed)) or {}).get("map_50"),
            (before.get(("scratch", seed)) or {}).get("map_50"),
            (after.get(("scratch", seed)) or {}).get("map_50"),
        ]
        ratios = [
            f"{p / s:.1f}x" if p is not None and s else "-" for p, s in ((values[0], values[2]), (values[1], values[3]))
        ]
        rows.append([seed, *(f3(v) or "-" for v in values), *ratios])
    if longer:
        rows.append(
            ["2, 20 epochs", f3(longer["pretrained"]["map_50"]), "-", f3(longer["scratch"]["map_50"]), "-", "-", "-"]
        )
    return table(header, rows)


def detection_strategies() -> str:
    """Issue 24: frozen / two-stage / full fine-tuning of the pretrained backbone at 100 images (seed 0), FCOS at 10
    epochs, and Faster R-CNN against FCOS at a shrunk 5 epochs."""
    cells = [c for c in _detection_cells("detection_transfer") if c["arm"] == "pretrained"]
    cells = [c for c in cells if c["train_images"] == 100 and c["seed"] == 0]
    cells += [c for c in _detection_cells("detection_strategies") if c["train_images"] == 100 and c["seed"] == 0]
    cells.sort(key=lambda c: (-c.get("epochs", 10), c.get("detector", "fcos") != "fcos"))
    header = ["detector", "strategy", "epochs", "mAP@.5", "mAP@[.5:.95]", "s per epoch", "load average (start / end)"]
    rows = [
        [
            {"fcos": "FCOS", "fasterrcnn": "Faster R-CNN"}.get(c.get("detector", "fcos"), c.get("detector")),
            c["strategy"],
            c.get("epochs", 10),
            f3(c["map_50"]),
            f3(c["map"]),
            f2(c["seconds_per_epoch"]),
            "/".join(map(str, c["load_average"])),
        ]
        for c in cells
    ]
    return table(header, rows)


def detection_throughput() -> str:
    """Issue 24: predict's images/s against the backbone's forward rate on the same 80 images."""
    data = load("detection_throughput")
    rates = data["images_per_s"]
    header = ["path", "images/s (median of 3)", "runs"]
    rows = [
        ["`predict` (read, resize, backbone, FPN, heads, NMS, frame)", rates["predict"], data["all_runs"]["predict"]],
        ["backbone forward only (the limit)", rates["backbone"], data["all_runs"]["backbone"]],
    ]
    note = (
        f"`predict` runs at {data['predict_vs_backbone']:.2f}x the backbone's own rate ({data['images']} images at "
        f"{data['settings']['image_size']} px, batch {data['settings']['batch_size']}, {data['boxes_predicted']} boxes "
        f"kept; the model scored mAP@.5 {data['test_map_50']:.3f}; load average {data['load_average']})."
    )
    return table(header, rows) + "\n\n" + note


def detection_ranking() -> str:
    """Issue 24: box-crop transferability scores against FCOS fine-tunes of each backbone (Kendall / Spearman)."""
    data = load("detection_ranking")
    parts = []
    for seed, cell in sorted(data["seeds"].items()):
        tunes = cell.get("fine_tunes", {})
        if len(tunes) < len(data["candidates"]) or "agreement" not in cell:
            continue
        header = ["backbone", "fine-tuned mAP@.5", "train s", "LogME", "N-LEEP", "k-NN acc.", "embed s"]
        rows = [
            [f"`{spec}`", f3(tunes[spec]["map_50"]), tunes[spec]["train_seconds"]]
            + [f3(cell["ranking"]["scores"][spec][name]) for name in ("logme", "nleep", "knn")]
            + [cell["ranking"]["embed_seconds"][spec]]
            for spec in data["candidates"]
        ]
        parts.append(
            f"**Seed {seed}** ({cell['ranking']['boxes']} boxes; ranking {cell['ranking']['seconds']:.0f} s, "
            f"the four fine-tunes {cell['fine_tune_seconds']:.0f} s)\n\n" + table(header, rows)
        )
        parts.append(_agreement_table(cell["agreement"]))
    if "pooled" in data:
        pooled = data["pooled"]
        parts.append(
            f"**Mean over {pooled['seeds']} seeds** (scores and mAP@.5 averaged per backbone)\n\n"
            + _agreement_table(pooled["agreement"])
        )
    return "\n\n".join(parts)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _agreement_table(agreement: dict[str, dict]) -> str:
    header = ["score", "Kendall's tau", "Spearman's rho", "its pick", "pick is the best detector", "mAP@.5 lost"]
    rows = [
        [
            name,
            f2(a["kendall_tau"]),
            f2(a["spearman_rho"]),
            f"`{a['pick']}`",
            _yes(a["pick_is_best"]),
            f3(a["pick_map_50_gap"]),
        ]
        for name, a in agreement.items()
    ]
    return table(header, rows)


TABLES |= {
    "detection_transfer": detection_transfer,
    "detection_strategies": detection_strategies,
    "detection_bias_fix": detection_bias_fix,
    "detection_throughput": detection_throughput,
    "detection_ranking": detection_ranking,
}


def tables_auto() -> str:
    """Issue 21: the default fit on real tables with gradient-boosted trees as a candidate, and with --search 10."""
    data = load("tables_auto")
    header = ["table", "train rows", "majority", "default (chose)", "CV probe / trees", "--search 10 (adopted?)"]
    header += ["probe", "trees", "regret", "search gain"]
    rows = []
    for r in data["results"]:
        auto, search = r["auto"], r["auto_search"]
        cv = auto.get("cv", {})
        adopted = (search.get("search") or {}).get("adopted")
        rows.append([r["table"], r["train_rows"], f3(r["majority"]), f"{f3(auto['accuracy'])} ({auto['chosen']})"])
        rows[-1] += [
            f"{f3(cv.get('probe'))} / {f3(cv.get('classic'))}",
            f"{f3(search['accuracy'])} ({'yes' if adopted else 'no'})",
        ]
        rows[-1] += [f3(r["probe"]["accuracy"]), f3(r["trees"]), f"{r['regret']:+.3f}", f"{r['search_gain']:+.3f}"]
    s = data["summary"]
    line = (
        f"Mean regret {s['mean_regret']:+.3f}; mean test-accuracy change from --search 10 {s['mean_search_gain']:+.3f}."
    )
    return table(header, rows) + "\n\n" + line


TABLES["tables_auto"] = tables_auto


# -- language models, follow-up (issue 27): ONNX runtime, ranking, gradient checkpointing --------------------------


def lm_transfer_onnx() -> str:
    """Issue 27: the torch-free bundle of a LoRA-adapted SmolLM2: greedy-token parity and tokens/s vs PyTorch."""
    arms = _lm_arms()
    if "onnx" not in arms:
        return "_The onnx arm has not been run yet._"
    r = arms["onnx"]
    parity, speed = r["parity"], r["speed"]
    header = ["check", "value"]
    rows = [
        ["held-out review openings checked", len(parity["prompts"])],
        [
            f"greedy tokens equal to PyTorch's (first {parity['check_tokens']} new tokens)",
            f"{parity['tokens_agree']:.0%}",
        ],
        ["first step, max abs logit difference", f"{parity['first_step_max_abs_logit_diff']:.1e}"],
        [f"PyTorch generate, tokens/s ({speed['new_tokens']} new, batch 1)", speed["torch_tokens_per_s"]],
        ["runtime (onnxruntime, KV cache), tokens/s", speed["runtime_tokens_per_s"]],
        ["runtime / PyTorch", f"{speed['runtime_vs_torch']:.2f}x"],
        ["same tokens in the speed run", "yes" if speed["same_tokens"] else "no"],
        ["export seconds (trace + write + check)", r["export_seconds"]],
        ["bundle size MB", r["bundle_mb"]],
        ["load average (start / end)", " / ".join(map(str, r["load_average"]))],
    ]
    return table(header, rows)


def lm_transfer_rank() -> str:
    """Issue 27: rank --task causal-lm's zero-shot order vs the order after a short LoRA run."""
    arms = _lm_arms()
    if "rank" not in arms:
        return "_The rank arm has not been run yet._"
    r = arms["rank"]
    what = {c["spec"]: c["what"] for c in r["candidates"]}
    header = ["candidate", "zero-shot bits/byte (train reviews)", "rank", "after LoRA: bits/byte (test reviews)"]
    header += ["rank", "token perplexity base -> LoRA (test)", "LoRA steps", "train s"]
    after = {spec: index + 1 for index, spec in enumerate(r["adapted_order"])}
    rows = []
    for index, row in enumerate(r["ranking"]["rows"]):
        spec = row["spec"]
        if spec not in r["adapted"]:
            rows.append([f"{spec} ({(row.get('error') or '').split(';')[0]})", "refused", "", "", "", "", "", ""])
            continue
        a = r["adapted"][spec]
        perplexities = f"{a['base_test_token_perplexity']:.1f} -> {a['test_token_perplexity']:.1f}"
        rows.append([what.get(spec, spec), f3(row["scores"]["bits_per_byte"]), index + 1])
        rows[-1] += [f3(a["test_bits_per_byte"]), after[spec], perplexities, a["steps"], f"{a['train_seconds']:.0f}"]
    verdict = (
        "the same order" if r["order_agrees"] else ("the same first pick" if r["top_agrees"] else "a different pick")
    )
    return table(header, rows) + f"\n\nZero-shot ranking vs after LoRA: {verdict}; ranking took {r['rank_seconds']} s."


def lm_transfer_memory() -> str:
    """Issue 27: full fine-tuning of SmolLM2 with and without gradient checkpointing, the same short run."""
    arms = _lm_arms()
    present = [arm for arm in ("full-memory", "full-checkpointing") if arm in arms]
    if not present:
        return "_The memory arms have not been run yet._"
    header = ["full fine-tuning", "peak RSS MB", "optimizer steps", "train s", "s per step", "load average"]
    rows = []
    for arm in present:
        r = arms[arm]
        steps = r["strategy"]["steps"]
        per_step = r["train_seconds"] / steps if steps else None
        label = "with --gradient-checkpointing" if arm == "full-checkpointing" else "without"
        rows.append([label, f"{r['peak_rss_mb']:,.0f}", steps, f"{r['train_seconds']:.0f}", f2(per_step)])
        rows[-1].append(" / ".join(map(str, r["load_average"])))
    return table(header, rows)


TABLES |= {"lm_transfer_onnx": lm_transfer_onnx, "lm_transfer_rank": lm_transfer_rank}
TABLES["lm_transfer_memory"] = lm_transfer_memory


def zero_shot_seed() -> str:
    """Issue 26: fit --zero-shot with and without the synthetic sentences at 2-16 labels per class (3 seeds)."""
    if note := _missing("zero_shot_seed"):
        return note
    data = load("zero_shot_seed")
    arms = ["fit_seed_off", "fit_seed_on", "probe_plus_descriptions", "product_of_experts"]
    header = ["labels per class", "fit (labels only)", "fit --zero-shot (seeded)", "gain", "seeded wins"]
    header += ["probe + description rows", "probe x zero-shot"]
    rows = []
    for count, entry in data["counts"].items():
        off, on = entry["fit_seed_off"]["per_seed"], entry["fit_seed_on"]["per_seed"]
        wins = sum(b > a for a, b in zip(off, on, strict=True))
        rows.append([count, *[f3(entry[arm]["mean"]) for arm in arms[:2]], f"{entry['gain']:+.3f}"])
        rows[-1] += [f"{wins} of {len(on)}", *[f3(entry[arm]["mean"]) for arm in arms[2:]]]
    line = (
        f"Zero-shot alone (no labels): {f3(data['zero_shot_accuracy'])}; majority rate "
        f"{f3(data['test_majority_rate'])} ({data['test_rows']} test reviews, {data['strategy']} strategy)."
    )
    return table(header, rows) + "\n\n" + line


def distillation_text() -> str:
    """Issue 26: MiniLM teacher vs cut MiniLM (2 layers) student fine-tuned on the soft labels."""
    if note := _missing("distillation_text"):
        return note
    d = load("distillation_text")
    header = ["model", "backbone", "test accuracy", "parameters", "ms per input"]
    rows = []
    for role in ("teacher", "student"):
        part = d[role]
        spec = d[f"{role}_backbone"] + (f" (fine-tuned {d['epochs']} epochs)" if role == "student" else "")
        rows.append([role, spec, f3(part["accuracy"]), f"{part['parameters']:,}", part["ms_per_input"]])
    line = (
        f"Gap {d['accuracy_gap_points']:+.2f} points, speed-up {d['speedup']:.2f}x, agreement {f3(d['agreement'])}; "
        f"the cut MiniLM as a frozen probe on the soft labels: {f3(d['frozen_student_probe']['accuracy'])}. "
        f"{d['labelled']} labelled, {d['unlabelled']} unlabelled, {d['test']} test reviews. "
        f"Target {'met' if d['target_met'] else 'missed'}."
    )
    return table(header, rows) + "\n\n" + line


TABLES |= {"zero_shot_seed": zero_shot_seed, "distillation_text": distillation_text}


def regression_default() -> str:
    """Issue 21: the default fit on regression tables (probe's ridge vs regression trees) against the old default."""
    data = load("regression_default")
    header = ["table", "train rows", "seed", "default R² (chose, decided by)", "CV R² probe / trees"]
    header += ["old default (probe)", "trees alone", "regret", "gain over old default"]
    rows = []
    for r in data["results"]:
        d, cv = r["default"], r["default"].get("cv_r2", {})
        rows.append([r["table"], r["train_rows"], r["seed"], f"{f3(d['r2'])} ({d['chosen']}, {d['decided_by']})"])
        rows[-1] += [f"{f3(cv.get('probe'))} / {f3(cv.get('classic'))}", f3(r["probe"]["r2"]), f3(r["trees"])]
        rows[-1] += [f"{r['regret']:+.3f}", f"{r['gain_over_old_default']:+.3f}"]
    s = data["summary"]
    line = (
        f"{s['cells']} cells; mean regret {s['mean_regret_r2']:+.3f} R² (largest {s['max_regret_r2']:+.3f}); mean "
        f"gain over the old default {s['mean_gain_over_old_default_r2']:+.3f} R²; the trees were chosen in "
        f"{s['chose_trees']} cells."
    )
    return table(header, rows) + "\n\n" + line


TABLES["regression_default"] = regression_default


def bf16_share(row: dict) -> str:
    return f"{row['share_at_or_above_bar']:.0%}"


def embed_bf16_check() -> str:
    """Issue 25: the default runtime's bf16 MiniLM embeddings vs fp32 on three text sets, against the 0.9999 bar."""
    data = load("embed_bf16_check")
    header = ["texts", "count", "cosine to fp32: min", "1st percentile", "median", "at or above the bar"]
    rows = [
        [name, r["texts"], f"{r['min']:.6f}", f"{r['p1']:.6f}", f"{r['median']:.6f}", bf16_share(r)]
        for name, r in data["sets"].items()
    ]
    verdict = "passes" if data["passes"] else "fails"
    return table(header, rows) + f"\n\nauto ran as {data['auto_runs_as']}; it {verdict} the bar of {data['bar']}."


TABLES["embed_bf16_check"] = embed_bf16_check


def render(name: str) -> str:
    """The markdown for a marker: a table name, or ``machine:FILE`` for the provenance line of a results file."""
    if name.startswith("machine:"):
        return machine(name.removeprefix("machine:"))
    if name not in TABLES:
        raise KeyError(f"No benchmark table named {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name]()


def default_policy_sets() -> str:
    """Issue 21: the prior's evidence per text / image set and size bucket (mean gain over the probe per strategy)."""
    from collections import defaultdict

    data = load("default_policy")
    order = ("tiny", "small", "medium", "large")
    buckets = [(8, "tiny"), (24, "small"), (64, "medium")]
    gains: dict = defaultdict(lambda: defaultdict(list))
    probes: dict = defaultdict(list)
    for r in data["own_runs"]:
        if r["modality"] == "tabular":
            continue
        bucket = next((name for upper, name in buckets if r["per_class"] <= upper), "large")
        probes[(r["modality"], r["set"], r.get("resolution") or "", bucket)].append(r["accuracy"]["probe"])
        for strategy, value in r["accuracy"].items():
            gains[(r["modality"], r["set"], r.get("resolution") or "", bucket)][strategy].append(
                value - r["accuracy"]["probe"]
            )
    header = ["modality", "set", "resolution", "size", "probe accuracy", "gain over the probe (draws)"]
    rows = []
    for key in sorted(gains, key=lambda k: (k[0], k[1], order.index(k[3]))):
        probe = probes[key]
        by = gains[key]
        cells = ", ".join(
            f"{name} {sum(v) / len(v):+.3f} ({len(v)})"
            for name, v in sorted(by.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
            if name != "probe"
        )
        rows.append([key[0], key[1], key[2] or "-", key[3], f3(sum(probe) / len(probe)), cells])
    return table(header, rows)


TABLES["default_policy_sets"] = default_policy_sets


def budget_honour() -> str:
    """Issue 21: the default fit's wall time against its budget on a loaded machine, before and after the deadline."""
    if note := _missing("budget_honour"):
        return note
    data = load("budget_honour")
    header = ["code", "data", "wall s", "embedding s", "held-out scoring s (reserved)", "budget used s"]
    header += ["ratio", "core share", "chosen", "scaled or cut at the deadline", "test accuracy", "load (1 min)"]
    rows = []
    for label, runs in data["runs"].items():
        for r in runs:
            if r.get("wall_seconds") is None:
                rows.append([label, r["data"], *["-"] * 7, r.get("note", ""), "-", "-"])
                continue
            used = r.get("budget_used_seconds") or (r.get("selection_seconds") or 0) + (r.get("final_fit_seconds") or 0)
            notes = {f"scaled {k}": f"{v['epochs']} of {v['of']} epochs" for k, v in (r.get("scaled") or {}).items()}
            cut = "; ".join(f"{k}: {v}" for k, v in (notes | (r.get("cut") or {})).items()) or "-"
            if r.get("over_budget"):
                cut = f"{r['over_budget']} {cut}"
            scoring, reserved = r.get("evaluate_seconds"), r.get("scoring_reserve_seconds")
            scoring = "-" if scoring is None else f"{scoring:.0f}" + ("" if reserved is None else f" ({reserved:.0f})")
            embedding = r.get("embedding_seconds", r.get("fixed_embedding_seconds"))
            # the runs before the whole-fit budget: (wall - embedding) / budget, marked
            ratio = f"{r['ratio']:.2f}x" + ("" if "loading_seconds" in r else " (less embedding)")
            rows.append([label, r["data"], f"{r['wall_seconds']:.0f}", f"{embedding:.1f}", scoring, f"{used:.0f}"])
            rows[-1] += [ratio, f2(r.get("cpu_share_of_one_core")) or "-", r["chosen"], cut]
            rows[-1] += [f3(r.get("test_accuracy")), (r.get("load_at_start") or ["-"])[0]]
    return table(header, rows)


TABLES["budget_honour"] = budget_honour
TABLES["demo_falloff"] = demo_falloff


def tiny_override() -> str:
    """Issue 21: the tiny-size override rules replayed on the same fold scores (summary per rule), then per cell."""
    data = load("tiny_override")
    header = ["rule", "cells", "CV overrode the prior", "mean regret", "worst peer gap", "cells > 0.02 below peer"]
    header += ["by modality (cells: overrides, mean regret, worst peer gap)"]
    rows = []
    for label, s in data["summary"].items():
        parts = [
            f"{m}: {v['overrides']}, {v['mean_regret']:+.3f}, {v['worst_peer_gap']:+.3f}"
            for m, v in s["by_modality"].items()
        ]
        cells = sum(v["cells"] for v in s["by_modality"].values())
        rows.append([label, cells, s["overrides"], f"{s['mean_regret']:+.3f}", f"{s['worst_peer_gap']:+.3f}"])
        rows[-1] += [s["cells_peer_gap_over_0.02"], "; ".join(parts)]
    return table(header, rows)


def tiny_override_cells() -> str:
    """Issue 21: per cell, the test accuracy of each arm, CV's lead and its paired error, before and now."""
    data = load("tiny_override")
    labels = list(data["summary"])
    before, now = labels[0], next(label for label in labels if label.startswith("now"))
    header = ["set", "per class", "seed", "test accuracy (recorded fine-tunes too)", "CV best vs reference"]
    header += ["before", "now"]
    rows = []
    for r in data["results"]:
        key = f"{r['set']} / {r['per_class']} / {r['seed']}"
        was, is_ = data["summary"][before]["by_cell"][key], data["summary"][now]["by_cell"][key]
        accuracy = ", ".join(f"{k} {v:.3f}" for k, v in r["accuracy"].items())
        paired = is_.get("paired")
        lead = f"{is_['cv_best']} (the reference)"
        if paired:
            lead = f"{is_['cv_best']} {paired['mean']:+.3f} ± {paired['standard_error']:.3f} ({paired['folds']} folds)"
        rows.append([r["set"], r["per_class"], r["seed"], accuracy, lead])
        rows[-1] += [f"{d['chosen']} {d['accuracy']:.3f}" + ("*" if d["estimated"] else "") for d in (was, is_)]
    return table(header, rows)


TABLES["tiny_override"] = tiny_override
TABLES["tiny_override_cells"] = tiny_override_cells


def line_count() -> str:
    """Issue 20: lines of src/transferkit per top-level package or module, at 4f90a56 and now, by kind."""
    data = load("line_count")
    header = ["package / module", "lines at 4f90a56", "lines now", "kind", "in files of new capabilities (issues)"]
    header += ["pre-existing files: lines last written before 4f90a56 / issue 20 / issues 21-28 / untagged"]
    rows = []
    for name, p in data["packages"].items():
        new = f"{p['new_capability_lines']} ({', '.join(map(str, p['issues']))})" if p["new_capability_lines"] else "-"
        b = p["blame"]
        split = " / ".join(str(b.get(k, 0)) for k in ("before", "issue 20", "issues 21-28", "untagged")) if b else "-"
        rows.append([code(name), p["lines_before"] or "-", p["lines"], p["kind"], new, split])
    return table(header, rows)


def line_count_summary() -> str:
    """Issue 20: the whole package's lines then and now, and what the pre-existing features take now (a range)."""
    s = load("line_count")["summary"]
    rows = [
        ["src/transferkit at 4f90a56 (before issue 20's work)", s["lines_before"]],
        ["src/transferkit now", s["lines_now"]],
        ["in files added by issues 21-28 (new capabilities)", s["new_capability_lines"]],
        ["pre-existing features now: every line of their files (upper bound)", s["pre_existing_features_lines_upper"]],
        ["of those, last written by an issue 21-28 commit", s["issue_21_28_lines_in_pre_existing_files"]],
        ["pre-existing features now, less those lines (lower bound)", s["pre_existing_features_lines_lower"]],
    ]
    return table(["count", "lines"], rows)


TABLES |= {"line_count": line_count, "line_count_summary": line_count_summary}


def line_count_folds() -> str:
    """Issue 20: the folds made for the line target, with the lines each added and removed under src/transferkit."""
    folds = load("line_count")["folds"]
    rows = [[code(f["commit"]), f["fold"], f["added"], f["removed"], f["added"] - f["removed"]] for f in folds]
    rows.append(["all", "", *(sum(f[key] for f in folds) for key in ("added", "removed")), ""])
    rows[-1][-1] = rows[-1][2] - rows[-1][3]
    return table(["commit", "fold", "lines added", "lines removed", "net"], rows)


TABLES["line_count_folds"] = line_count_folds


# Last, so that every table registered above is known to the command line.
if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(TABLES):
        print(f"## {wanted}\n\n{render(wanted)}\n")
