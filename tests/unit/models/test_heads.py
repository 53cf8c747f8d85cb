"""Classification heads: standardisation fitted on training embeddings, optional unit-length inputs."""

from __future__ import annotations

import torch

from transferkit.models.heads import ClassifierHead


def test_a_normalizing_head_reads_only_the_direction_of_each_embedding():
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(20, 6, generator=generator) * torch.linspace(0.1, 5.0, 6)
    rescaled = torch.rand(20, 1, generator=generator) * 10 + 0.1  # a positive length per row
    for normalize in (True, False):
        torch.manual_seed(0)
        head = ClassifierHead(in_features=6, num_classes=3, normalize=normalize).eval()
        head.fit_scaling(train, uniform=True)
        assert torch.all(head.standardize.scale == head.standardize.scale[0])  # one scale: geometry kept
        same = torch.allclose(head(train), head(train * rescaled), atol=1e-5)
        assert same is normalize
    assert head.config["normalize"] is False and ClassifierHead(**head.config).normalize is False
    # Standardised on unit-length rows: those come out centred with unit spread.
    unit = ClassifierHead(in_features=6, num_classes=3, normalize=True).fit_scaling(train)
    scaled = unit.scaled(train)
    torch.testing.assert_close(scaled.mean(0), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(scaled.std(0), torch.ones(6), atol=1e-4, rtol=0)
