"""Hostile sizes under a memory limit (issue 22): each case runs in a subprocess whose address space is capped
(RLIMIT_AS) at what its imports already take plus a budget the old behaviour exceeded.

The baseline is measured in the subprocess itself, after its imports and before the case: torch, scikit-learn
and matplotlib alone map 1-2 GB of address space, which varies by machine, so only the growth is bounded.
Thread pools are pinned to one thread and glibc to two malloc arenas, so that a thread starting mid-case does
not map 64 MB arenas the case never uses.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status are Linux's"),
]

LIMITED = """
import resource, warnings
{imports}

def address_space() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))

_, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (address_space() + {budget_mb} * 2**20, hard))
{case}
print("CASE DONE")
"""


def run_limited(*, imports: str, case: str, budget_mb: int, timeout: int = 180) -> str:
    """Run `case` after `imports` with at most `budget_mb` more address space; return its output (it must end)."""
    script = LIMITED.format(imports=textwrap.dedent(imports), case=textwrap.dedent(case), budget_mb=budget_mb)
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env = {**os.environ, **threads, "MALLOC_ARENA_MAX": "2", "TRANSFERKIT_PROGRESS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "CASE DONE" in done.stdout, output[-3000:]
    return output


def test_thousands_of_classes_are_measured_and_reported_within_bounds(tmp_path):
    # Before: the whole 2,000 x 2,000 confusion matrix went into metrics.json and a 100,000-pixel-wide figure
    # (matplotlib's limit is 65,536), and ROC-AUC built a classes x classes identity matrix.
    output = run_limited(
        imports="""
            import numpy as np
            from transferkit.evaluation import classification_metrics, write_report
        """,
        case=f"""
            n = 2_000
            names = [f"class-{{i:05d}}" for i in range(n)]
            y = np.repeat(np.arange(n), 2)
            rng = np.random.default_rng(0)
            predicted = np.where(rng.uniform(size=len(y)) < 0.8, y, rng.integers(0, n, len(y)))
            proba = np.full((len(y), n), 0.1 / n, dtype=np.float32)
            proba[np.arange(len(y)), predicted] += 0.9
            test = classification_metrics([names[i] for i in y], proba, names, bootstrap=False)
            write_report({str(tmp_path)!r}, metrics={{"test": test, "backbone": {{"spec": "x"}}}}, config_yaml="")
            print("matrix", len(test["confusion_matrix"]["labels"]))
        """,
        budget_mb=400,
    )
    assert "matrix 30" in output
    assert "most confused of 2000 classes" in (tmp_path / "report.html").read_text()


def test_an_id_column_keeps_the_features_narrow(tmp_path):
    # Before: 5,000 distinct IDs became 5,000 one-hot columns, a 200 MB dense float64 matrix made several times.
    path = tmp_path / "customers.csv"
    rows = 5_000
    lines = ["customer_id,plan,amount,label"]
    lines += [
        f"C-{i:06d},{('basic', 'pro', 'team')[i % 3]},{10 + i % 97},{('churn', 'stay')[i % 2]}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    output = run_limited(
        imports="""
            from transferkit.backbones.tabular import TabularPreprocessor
            from transferkit.data import load_labeled
            from transferkit.data.feature_tables import rows_frame
        """,
        case=f"""
            warnings.simplefilter("ignore")
            for chosen in (None, ["customer_id", "plan", "amount"]):  # dropped by default; capped when chosen
                data = load_labeled({str(path)!r}, tabular=True, feature_columns=chosen)
                frame = rows_frame(data.inputs)
                features = TabularPreprocessor().fit(frame).transform(frame)
                print("features", features.shape[1], sorted(data.dropped_columns))
        """,
        budget_mb=150,
    )
    assert "features 4 ['customer_id']" in output  # amount + 3 plans
    assert "features 54 []" in output  # amount + 49 IDs + "other" + 3 plans


def _hour_long_wav(path: Path, *, rate: int = 16_000, seconds: int = 3_600) -> Path:
    """A silent mono 16-bit WAV written block by block (115 MB on disk, never whole in memory)."""
    size = rate * seconds * 2
    header = (
        b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    )
    with path.open("wb") as handle:
        handle.write(header + b"data" + struct.pack("<I", size))
        block = bytes(rate * 2 * 60)
        for _ in range(seconds // 60):
            handle.write(block)
    return path


def test_an_hour_long_clip_is_cut_to_the_cap_and_finishes(tmp_path):
    # Before: the whole hour was decoded (230 MB of float32, twice over with the mono mix) by the check and by
    # every batch, and a speech encoder's attention grew with the square of its length.
    clip = _hour_long_wav(tmp_path / "meeting.wav")
    output = run_limited(
        imports="""
            from transferkit.data.audio import MAX_CLIP_SECONDS, check_clip, load_clip
        """,
        case=f"""
            assert check_clip(__import__("pathlib").Path({str(clip)!r})) is None
            wave = load_clip({str(clip)!r}, 16_000)
            print("samples", len(wave), int(MAX_CLIP_SECONDS * 16_000))
        """,
        budget_mb=150,
    )
    assert "samples 480000 480000" in output
    assert "meeting.wav is 3,600 s long; only its first 30 s are used" in output


def _blank_png(path: Path, *, width: int, height: int) -> Path:
    """A black RGB PNG of width x height, compressed row by row (300 MB of pixels, a few hundred KB of file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj()
    row = bytes(1 + 3 * width)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_a_100_megapixel_image_is_a_clear_bad_file_not_an_out_of_memory(tmp_path):
    # Before: between 1x and 2x PIL's limit only a warning, then 300 MB decoded by the check alone.
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        _blank_png(tmp_path / "photos" / name / "small.png", width=8, height=8)
    _blank_png(tmp_path / "photos" / "cat" / "poster.png", width=10_000, height=10_000)
    output = run_limited(
        imports="""
            from transferkit.data import load_labeled, validate_labeled
            from transferkit.errors import DataError
        """,
        case=f"""
            data = load_labeled({str(tmp_path / "photos")!r})
            print([str(item) for item in data.bad_items])
            try:
                validate_labeled(data, skip_bad_files=False)
            except DataError as exc:
                print("refused:", exc)
            print("kept", validate_labeled(data, skip_bad_files=True).class_counts)
        """,
        budget_mb=150,
    )
    assert "poster.png: image too large (100,000,000 pixels, over the 89,478,485-pixel limit" in output
    assert "refused: 1 unusable item(s)" in output and "kept {'cat': 1, 'dog': 1}" in output
