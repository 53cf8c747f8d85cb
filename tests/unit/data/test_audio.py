"""Audio folder source: decoding, resampling, validation of bad clips, and a fit / predict round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from transferkit.data import load_labeled, split_data, validate_labeled
from transferkit.data.audio import load_audio_inputs, load_clip
from transferkit.errors import DataError


def _copy_with_broken_clip(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    (target / "high" / "broken.wav").write_bytes(b"RIFF not really a wave")
    (target / "low" / "empty.flac").write_bytes(b"")
    return target


def test_audio_folder_is_detected_and_split_stratified(tone_clips):
    data = load_labeled(tone_clips)
    assert data.modality == "audio"
    assert data.class_counts == {"high": 8, "low": 8}
    assert not data.bad_items
    splits = split_data(data, valid_fraction=0.25, test_fraction=0.25, seed=0)
    assert splits.test.class_counts == {"high": 2, "low": 2}
    # 6 clips per class are left to train on: too few to spare a validation split, so every one trains (issue 21)
    assert splits.valid is None and "valid" in splits.not_carved and splits.train.class_counts == {"high": 6, "low": 6}


def test_load_clip_resamples_to_the_models_rate_and_keeps_the_pitch(tmp_path):
    rate, seconds, tone = 22_050, 0.5, 440.0
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([np.sin(2 * np.pi * tone * t), 0.5 * np.sin(2 * np.pi * tone * t)], axis=1).astype(np.float32)
    path = tmp_path / "a.flac"
    soundfile.write(path, stereo, rate)
    wave = load_clip(path, 16_000)
    assert wave.dtype == np.float32 and wave.ndim == 1  # mixed to mono
    assert len(wave) == int(16_000 * seconds)
    spectrum = np.abs(np.fft.rfft(wave))
    peak_hz = np.argmax(spectrum) * 16_000 / len(wave)
    assert abs(peak_hz - tone) < 4.0  # a wrong up/down ratio would move the peak
    assert np.abs(wave).max() == pytest.approx(0.75, abs=0.02)


def test_corrupt_and_empty_clips_are_reported_and_refused(tone_clips, tmp_path):
    data = load_labeled(_copy_with_broken_clip(tone_clips, tmp_path / "clips"))
    reasons = {Path(item.location).name: item.reason for item in data.bad_items}
    assert reasons == {
        "broken.wav": "unreadable audio clip (Format not recognised)",
        "empty.flac": "unreadable audio clip (empty file)",
    }
    with pytest.raises(DataError, match=r"2 unusable item\(s\).*broken\.wav.*--skip-bad-files"):
        validate_labeled(data, skip_bad_files=False)
    report = validate_labeled(data, skip_bad_files=True)
    assert report.num_examples == 16 and len(report.skipped) == 2
    with pytest.raises(DataError, match=r"broken\.wav is not a readable audio clip \(Format not recognised\)"):
        load_clip(tmp_path / "clips" / "high" / "broken.wav", 16_000)


def test_prediction_inputs_are_checked_too(tone_clips, tmp_path):
    folder = _copy_with_broken_clip(tone_clips, tmp_path / "clips")
    good, bad = load_audio_inputs([folder / "low", folder / "high" / "broken.wav"])
    assert len(good) == 8 and [Path(item.location).name for item in bad] == ["empty.flac", "broken.wav"]


def test_single_class_and_empty_class_folders_are_refused(tone_clips, tmp_path):
    single = tmp_path / "single"
    shutil.copytree(tone_clips / "low", single / "low")
    with pytest.raises(DataError, match="single class"):
        validate_labeled(load_labeled(single), skip_bad_files=False)
    (single / "silent").mkdir()
    with pytest.raises(DataError, match=r"Class folder .*silent is empty"):
        load_labeled(single)


@pytest.mark.e2e
def test_fit_and_predict_round_trip_on_an_audio_folder(tiny_wav2vec2_dir, tone_clips, tmp_path):
    import transferkit

    clips = _copy_with_broken_clip(tone_clips, tmp_path / "clips")
    with pytest.raises(DataError, match=r"broken\.wav"):
        transferkit.fit(str(clips), backbone=f"hf:{tiny_wav2vec2_dir}", output_dir=str(tmp_path / "runs"))
    result = transferkit.fit(
        str(clips),
        backbone=f"hf:{tiny_wav2vec2_dir}",
        strategy="probe",
        skip_bad_files=True,
        valid_fraction=0.25,
        test_fraction=0.25,
        output_dir=str(tmp_path / "runs"),
    )
    assert result.metrics["data"]["modality"] == "audio"
    assert len(result.metrics["data"]["skipped"]) == 2
    frame = transferkit.predict(result.model_dir, [clips], skip_bad_files=True, output=tmp_path / "predictions.csv")
    assert len(frame) == 16 and (tmp_path / "predictions.csv").is_file()
    truth = [Path(path).parent.name for path in frame["input"]]
    assert (frame["label"] == truth).mean() >= 0.9  # low vs high tones are easy even for random weights


def test_a_long_clip_is_cut_to_the_cap_with_a_warning_naming_it(tmp_path):
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros(8_000 * 5, np.float32), 8_000)  # 5 s
    with pytest.warns(UserWarning, match=r"long\.wav is 5 s long; only its first 2 s are used"):
        wave = load_clip(path, 8_000, max_seconds=2)
    assert len(wave) == 16_000
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(8_000, np.float32), 8_000)
    assert len(load_clip(short, 8_000, max_seconds=2)) == 8_000  # under the cap: whole, no warning


def test_a_header_claiming_an_impossible_format_is_a_bad_clip(tmp_path):
    path = tmp_path / "odd.wav"
    soundfile.write(path, np.zeros((10, 2), np.float32), 8_000)
    raw = bytearray(path.read_bytes())
    raw[24:28] = (10_000_000).to_bytes(4, "little")  # the WAV header's sample rate: 10 MHz
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"odd\.wav is not a readable audio clip \(unsupported: 2 channel\(s\) at "):
        load_clip(path, 16_000)
