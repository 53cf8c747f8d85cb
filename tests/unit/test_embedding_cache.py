import os

import numpy as np
import pytest
import torch
from torch import nn

from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.embedding_cache import extract_features


class CountingBackbone(Backbone):
    """A tiny deterministic image backbone that records which inputs it embedded."""

    modality = "image"

    def __init__(self, *, preprocessing=None):
        super().__init__()
        self.spec = "test:counting"
        self.num_features = 3
        self.weights_cfg = WeightsCfg("test", "abc", "none", preprocessing or {"size": 4})
        self.seen: list[str] = []
        self.linear = nn.Linear(1, 3)

    def load_batch(self, inputs):
        self.seen.extend(inputs)
        return torch.tensor([[float(len(open(path, "rb").read()))] for path in inputs])

    def forward_features(self, batch):
        return batch

    def pool(self, features, batch):
        return features.repeat(1, 3)

    def layer_groups(self):
        return [self.linear]


def _files(tmp_path, contents):
    paths = []
    for index, content in enumerate(contents):
        path = tmp_path / f"{index}.bin"
        path.write_bytes(content)
        paths.append(str(path))
    return paths


def test_cache_hit_miss_and_only_changed_files_recomputed(tmp_path):
    cache = tmp_path / "cache"
    paths = _files(tmp_path, [b"a", b"bb", b"ccc"])
    backbone = CountingBackbone()
    first, stats = extract_features(backbone, paths, cache_dir=cache)
    assert (stats.hits, stats.misses) == (0, 3)
    assert first[:, 0].tolist() == [1.0, 2.0, 3.0]

    second, stats = extract_features(CountingBackbone(), paths, cache_dir=cache)  # a new process would do this
    assert (stats.hits, stats.misses) == (3, 0)
    np.testing.assert_array_equal(first, second)

    (tmp_path / "1.bin").write_bytes(b"changed!")
    paths.append(str(tmp_path / "new.bin"))
    (tmp_path / "new.bin").write_bytes(b"dddd")
    counting = CountingBackbone()
    third, stats = extract_features(counting, paths, cache_dir=cache)
    assert (stats.hits, stats.misses) == (2, 2)
    assert sorted(counting.seen) == sorted([str(tmp_path / "1.bin"), str(tmp_path / "new.bin")])
    assert third[:, 0].tolist() == [1.0, 8.0, 3.0, 4.0]


def test_devices_start_no_process_when_all_is_cached_or_inside_a_ddp_process(tmp_path, monkeypatch):
    import transferkit.embedding_cache as embedding_cache

    def refuse(*args, **kwargs):
        raise AssertionError("no process may start here")

    monkeypatch.setattr(embedding_cache, "embed_across", refuse)
    paths = _files(tmp_path, [b"a", b"bb"])
    first, _ = extract_features(CountingBackbone(), paths, cache_dir=tmp_path / "c")
    again, stats = extract_features(CountingBackbone(), paths, cache_dir=tmp_path / "c", devices=2)
    assert stats.hits == 2 and np.array_equal(again, first)  # a re-run finds every row cached
    # A process of a Lightning Trainer's DDP (WORLD_SIZE set, not torchrun) embeds what the cache lacks itself.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    (tmp_path / "more").mkdir()
    paths += _files(tmp_path / "more", [b"ccc"])
    counting = CountingBackbone()
    features, stats = extract_features(counting, paths, cache_dir=tmp_path / "c", devices=2)
    assert stats.misses == 1 and counting.seen == [paths[-1]] and features[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_changed_preprocessing_is_a_different_cache(tmp_path):
    paths = _files(tmp_path, [b"a", b"bb"])
    extract_features(CountingBackbone(), paths, cache_dir=tmp_path / "c")
    _, stats = extract_features(CountingBackbone(preprocessing={"size": 8}), paths, cache_dir=tmp_path / "c")
    assert stats.misses == 2


def test_duplicates_are_embedded_once_and_no_temp_files_remain(tmp_path):
    paths = _files(tmp_path, [b"same", b"same", b"other"])
    backbone = CountingBackbone()
    features, _ = extract_features(backbone, paths, cache_dir=tmp_path / "c")
    assert len(backbone.seen) == 2 and features.shape == (3, 3)
    leftovers = [p.name for p in (tmp_path / "c").rglob("*") if p.is_file() and not p.name.endswith(".safetensors")]
    assert leftovers == ["index.json"]


def test_audio_and_image_inputs_are_keyed_by_their_bytes_not_their_names(tmp_path):
    from transferkit.embedding_cache import input_hash

    for modality in ("image", "audio"):
        first, renamed, edited = (tmp_path / f"{modality}-{name}.bin" for name in ("a", "b", "c"))
        first.write_bytes(b"RIFF-one")
        renamed.write_bytes(b"RIFF-one")
        edited.write_bytes(b"RIFF-two")
        assert input_hash(modality, str(first)) == input_hash(modality, str(renamed))
        assert input_hash(modality, str(first)) != input_hash(modality, str(edited))
    assert input_hash("text", "RIFF-one") != input_hash("text", "RIFF-two")


class WordCountBackbone(CountingBackbone):
    """Text stand-in whose batches are recorded: an input's size is its word count."""

    modality = "text"

    def __init__(self):
        super().__init__()
        self.batches: list[list[str]] = []

    def input_sizes(self, inputs):
        return [len(text.split()) for text in inputs]

    def load_batch(self, inputs):
        self.batches.append(list(inputs))
        return torch.tensor([[float(len(text.split()))] for text in inputs])


def test_text_is_batched_longest_first_and_returned_in_input_order():
    texts = ["a", "a b c d", "a b", "a b c d e f", "a b c"]
    backbone = WordCountBackbone()
    features, _ = extract_features(backbone, texts, batch_size=2, use_cache=False)
    assert backbone.batches == [["a b c d e f", "a b c d"], ["a b c", "a b"], ["a"]]
    assert features[:, 0].tolist() == [1.0, 4.0, 2.0, 6.0, 3.0]


def test_sorted_extraction_matches_one_text_at_a_time(minilm):
    texts = ["Great tea, fast delivery.", "Stale.", "The coffee tasted burnt and the bag arrived torn open."]
    assert minilm.input_sizes(texts)[1] < minilm.input_sizes(texts)[0] < minilm.input_sizes(texts)[2]
    # fp32: in bf16 (the default on CPUs with AMX) batch shape alone moves an embedding by ~1e-3
    batched, _ = extract_features(minilm, texts, batch_size=3, use_cache=False, runtime="torch")
    alone = np.concatenate([extract_features(minilm, [text], use_cache=False, runtime="torch")[0] for text in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)  # padding never leaks into an embedding


def test_image_batches_are_channels_last_with_unchanged_values(digits_folder):
    from PIL import Image
    from torchvision.transforms import v2

    from transferkit.backbones.base import load_image_batch

    transform = v2.Compose([v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])
    paths = sorted(str(p) for p in (digits_folder / "digit7").iterdir())[:3]
    batch = load_image_batch(paths, transform)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    expected = []
    for path in paths:
        with Image.open(path) as image:
            expected.append(transform(image.convert("RGB")))
    assert torch.equal(batch, torch.stack(expected))


def _shard_paths(cache):
    return sorted(cache.glob("*/*.safetensors"))


def test_a_corrupt_shard_is_set_aside_with_a_warning_and_the_run_goes_on(tmp_path):
    cache = tmp_path / "cache"
    paths = _files(tmp_path, [b"a", b"bb"])
    first, _ = extract_features(CountingBackbone(), paths, cache_dir=cache)
    (shard,) = _shard_paths(cache)
    shard.write_bytes(b"\x00garbage, not a safetensors file")
    with pytest.warns(RuntimeWarning, match="unreadable.*set aside"):
        again, stats = extract_features(CountingBackbone(), paths, cache_dir=cache)
    assert (stats.hits, stats.misses) == (0, 2)
    np.testing.assert_array_equal(first, again)
    assert shard.with_name(shard.name + ".corrupt").is_file()  # kept for inspection, not deleted
    _, stats = extract_features(CountingBackbone(), paths, cache_dir=cache)  # the next run is clean
    assert (stats.hits, stats.misses) == (2, 0)


def test_a_damaged_or_stale_index_is_rebuilt_from_the_shards(tmp_path):
    cache = tmp_path / "cache"
    paths = _files(tmp_path, [b"a", b"bb", b"ccc"])
    extract_features(CountingBackbone(), paths[:2], cache_dir=cache)
    extract_features(CountingBackbone(), paths[2:], cache_dir=cache)
    (index,) = cache.glob("*/index.json")
    index.write_text("{not json", encoding="utf-8")
    _, stats = extract_features(CountingBackbone(), paths, cache_dir=cache)
    assert (stats.hits, stats.misses) == (3, 0)


def test_only_the_shards_holding_wanted_entries_are_read(tmp_path, monkeypatch):
    import transferkit.embedding_cache as embedding_cache

    cache = tmp_path / "cache"
    paths = _files(tmp_path, [b"a", b"bb", b"ccc"])
    for path in paths:  # one shard per input
        extract_features(CountingBackbone(), [path], cache_dir=cache)
    opened: list[str] = []
    real_open = embedding_cache.safe_open
    monkeypatch.setattr(embedding_cache, "safe_open", lambda path, **kw: opened.append(path) or real_open(path, **kw))
    _, stats = extract_features(CountingBackbone(), paths[:1], cache_dir=cache)
    assert stats.hits == 1 and len(opened) == 1


def test_the_size_cap_evicts_the_least_recently_used_shards(tmp_path):
    from transferkit.embedding_cache import FeatureCache

    cache = tmp_path / "cache"
    key = "0" * 24
    store = FeatureCache(cache, key, max_bytes=10**9)
    for index in range(3):
        store.put_many({f"{index:064x}": np.full(1000, index, np.float32)})
    shards = _shard_paths(cache)
    for age, shard in enumerate(sorted(shards, key=lambda p: p.stat().st_mtime)):
        os.utime(shard, (1000 + age, 1000 + age))  # oldest first: entries 0, 1, 2
    FeatureCache(cache, key).get(f"{0:064x}")  # reading entry 0 makes it the most recently used
    one_shard = shards[0].stat().st_size
    small = FeatureCache(cache, key, max_bytes=int(2.5 * one_shard))
    small.put_many({f"{3:064x}": np.full(1000, 3, np.float32)})  # 4 shards > cap: the least recently used goes
    survivors = FeatureCache(cache, key).get_many([f"{i:064x}" for i in range(4)])
    assert sorted(survivors) == [f"{i:064x}" for i in (0, 3)]


def test_the_cap_is_configurable_and_checked(monkeypatch):
    from transferkit.embedding_cache import DEFAULT_MAX_BYTES, cache_max_bytes
    from transferkit.errors import ConfigError

    monkeypatch.delenv("TRANSFERKIT_CACHE_MAX_GB", raising=False)
    assert cache_max_bytes() == DEFAULT_MAX_BYTES == 2 * 1024**3
    monkeypatch.setenv("TRANSFERKIT_CACHE_MAX_GB", "0.5")
    assert cache_max_bytes() == 1024**3 // 2
    monkeypatch.setenv("TRANSFERKIT_CACHE_MAX_GB", "lots")
    with pytest.raises(ConfigError, match="TRANSFERKIT_CACHE_MAX_GB"):
        cache_max_bytes()


def test_cache_info_and_clear_touch_only_the_caches_own_files(tmp_path):
    from transferkit.embedding_cache import cache_info, clear_cache

    cache = tmp_path / "cache"
    paths = _files(tmp_path, [b"a", b"bb", b"ccc"])
    extract_features(CountingBackbone(), paths, cache_dir=cache)
    (key_folder,) = [folder for folder in cache.iterdir() if folder.is_dir()]
    unrelated = [cache / "notes.txt", key_folder / "mine.safetensors", cache / "project" / "data.csv"]
    for path in unrelated:
        path.parent.mkdir(exist_ok=True)
        path.write_text("keep me", encoding="utf-8")
    info = cache_info(cache)
    assert (info.location, info.entries, info.shards, info.backbones) == (cache, 3, 1, 1)
    assert info.size_bytes > 0
    removed, freed = clear_cache(cache)
    assert removed == 2 and freed > 0  # the shard and the index
    assert all(path.read_text(encoding="utf-8") == "keep me" for path in unrelated)
    assert cache_info(cache).entries == 0


def test_cache_command_shows_and_clears(tmp_path):
    from typer.testing import CliRunner

    from transferkit.cli import app

    cache = tmp_path / "cache"
    extract_features(CountingBackbone(), _files(tmp_path, [b"a"]), cache_dir=cache)
    (cache / "keep.txt").write_text("unrelated", encoding="utf-8")
    runner = CliRunner()
    shown = runner.invoke(app, ["cache", "info", "--cache-dir", str(cache)])
    assert shown.exit_code == 0, shown.output
    assert "1 entries" in shown.output.replace("\n", " ") and str(cache) in shown.output.replace("\n", "")
    cleared = runner.invoke(app, ["cache", "clear", "--cache-dir", str(cache)])
    assert cleared.exit_code == 0, cleared.output
    assert "Removed 2 cache files" in cleared.output
    assert (cache / "keep.txt").is_file() and not _shard_paths(cache)
