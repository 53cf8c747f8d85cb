"""The bundled weights are really pretrained: ImageNet classes for a cat photo, paraphrases close together."""

import pytest
import torch

IMAGENET_CATS = {281: "tabby", 282: "tiger cat", 283: "Persian cat", 284: "Siamese cat", 285: "Egyptian cat"}


@pytest.mark.slow
def test_efficientnet_lite0_sees_a_cat(effnet, cat_photo):
    with torch.inference_mode():
        probabilities = effnet.source_logits(effnet.load_batch([str(cat_photo)])).softmax(dim=-1)[0]
    top5 = probabilities.topk(5).indices.tolist()
    assert set(top5[:3]) <= set(IMAGENET_CATS)
    assert probabilities[list(IMAGENET_CATS)].sum() > 0.8  # a random-init model would spread mass over 1000 classes


@pytest.mark.slow
def test_minilm_puts_paraphrases_closer_than_unrelated_sentences(minilm):
    pairs = [
        ("A man is eating food.", "A man is having a meal.", "The stock market fell sharply today."),
        ("The cat sleeps on the sofa.", "A kitten is napping on the couch.", "Rain is expected in the mountains."),
        ("This coffee tastes burnt.", "The coffee has a scorched flavour.", "He plays the violin in an orchestra."),
    ]
    texts = [text for triple in pairs for text in triple]
    with torch.inference_mode():
        embeddings = torch.nn.functional.normalize(minilm(minilm.load_batch(texts)), dim=-1)
    for index in range(len(pairs)):
        anchor, paraphrase, unrelated = embeddings[3 * index : 3 * index + 3]
        assert anchor @ paraphrase > 0.6
        assert anchor @ paraphrase > anchor @ unrelated + 0.4


def test_bundled_weights_carry_their_preprocessing(effnet, minilm):
    assert effnet.weights_cfg.preprocessing["mean"] == [0.5, 0.5, 0.5]
    assert effnet.weights_cfg.preprocessing["std"] == [0.5, 0.5, 0.5]
    assert effnet.num_features == 1280 and minilm.num_features == 384
    assert minilm.weights_cfg.preprocessing["pooling"] == "mean"
    assert len(effnet.weights_cfg.checksum) == 64 and effnet.weights_cfg.licence == "apache-2.0"
