"""Edge cases of fine-tunable text backbones: a one-layer encoder and tied decoder weights."""

import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel

from transferkit.artifacts import unshared_tensors
from transferkit.backbones.layers import transformer_layer_groups


def test_a_one_layer_encoder_still_has_embeddings_block_and_pooler_groups():
    torch.manual_seed(0)
    model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64))
    groups = transformer_layer_groups(model)
    assert len(groups) == 3  # embeddings, the one block, the pooler
    assert groups[1] is model.encoder.layer[0]
    grouped = [p for group in groups for p in group.parameters()]
    assert len(grouped) == len(list(model.parameters())) and {id(p) for p in grouped} == {
        id(p) for p in model.parameters()
    }


def test_tied_weights_save_as_separate_tensors_and_load_back_equal(tmp_path):
    embedding = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=False)
    head.weight = embedding.weight  # tied, as in GPT-style LMs
    state = {"embed.weight": embedding.weight, "lm_head.weight": head.weight, "other": torch.ones(2)}
    try:
        save_file({k: v.detach().contiguous() for k, v in state.items()}, str(tmp_path / "raw.safetensors"))
        raise AssertionError("safetensors should refuse shared tensors; the test no longer shows the problem")
    except RuntimeError:
        pass
    save_file(unshared_tensors(state), str(tmp_path / "w.safetensors"))
    loaded = load_file(str(tmp_path / "w.safetensors"))
    assert torch.equal(loaded["embed.weight"], embedding.weight) and torch.equal(loaded["lm_head.weight"], head.weight)
