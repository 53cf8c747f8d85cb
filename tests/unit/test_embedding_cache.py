import numpy as np
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
    assert leftovers == []


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
    batched, _ = extract_features(minilm, texts, batch_size=3, use_cache=False)
    alone = np.concatenate([extract_features(minilm, [text], use_cache=False)[0] for text in texts])
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
