"""Real speech: human recordings of the digits 0-4 in about twenty languages (Debian's tuxpaint-stamps-default),
classified by a probe on the bundled Whisper tiny.en encoder well above chance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import transferkit

pytestmark = pytest.mark.slow
RECORDINGS = Path("/usr/share/tuxpaint/stamps/symbols/math")
DIGITS = range(5)


@pytest.fixture(scope="module")
def spoken_digits(tmp_path_factory) -> Path:
    if not (RECORDINGS / "0.ogg").exists():
        pytest.skip("tuxpaint-stamps-default is not installed (Debian: apt-get install -y tuxpaint-stamps-default)")
    root = tmp_path_factory.mktemp("spoken")
    for digit in DIGITS:
        (root / str(digit)).mkdir()
        # `3.ogg` and `3_de.ogg`, ... say the digit; `3_desc_fr.ogg` describes the stamp in a sentence.
        for clip in sorted(RECORDINGS.glob(f"{digit}*.ogg")):
            if clip.stem == str(digit) or (clip.stem.startswith(f"{digit}_") and "_desc" not in clip.stem):
                shutil.copyfile(clip, root / str(digit) / clip.name)
    return root


def test_whisper_probe_recognises_spoken_digits_across_languages(spoken_digits, tmp_path):
    result = transferkit.fit(
        str(spoken_digits),
        backbone="bundled:whisper-tiny-en",
        strategy="probe",
        valid_fraction=0.0,
        test_fraction=0.3,
        output_dir=str(tmp_path),
        name="spoken",
    )
    counts = result.metrics["data"]["class_counts"]
    assert sorted(counts) == [str(d) for d in DIGITS] and sum(counts.values()) > 90
    test = result.metrics["test"]
    assert test["majority_rate"] < 0.3  # five near-balanced classes: chance is about 0.2
    assert test["accuracy"] > 0.5
