"""Gradient reversal, CORAL and multi-kernel MMD: the losses behave as their definitions say."""

from __future__ import annotations

import pytest
import torch

from transferkit.adaptation.losses import GradientReversal, coral_loss, entropy, multi_kernel_mmd


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0, 2.5])
def test_gradient_reversal_flips_the_sign_scaled_by_the_weight(weight: float) -> None:
    torch.manual_seed(0)
    inputs = torch.randn(4, 3, requires_grad=True)
    upstream = torch.randn(4, 3)
    layer = GradientReversal(weight=weight)
    outputs = layer(inputs)
    assert torch.equal(outputs, inputs)  # identity on the way forward
    outputs.backward(upstream)
    assert torch.allclose(inputs.grad, -weight * upstream)


def test_gradient_reversal_weight_can_change_between_steps() -> None:
    layer = GradientReversal(weight=1.0)
    inputs = torch.ones(2, requires_grad=True)
    layer(inputs).sum().backward()
    layer.weight = 0.25
    inputs.grad = None
    layer(inputs).sum().backward()
    assert inputs.grad.tolist() == [-0.25, -0.25]


def test_coral_is_zero_for_equal_covariances_and_grows_with_their_difference() -> None:
    torch.manual_seed(0)
    source = torch.randn(500, 8)
    assert coral_loss(source, source + 3.0).item() == pytest.approx(0.0, abs=1e-6)  # a mean shift is not CORAL's job
    small = coral_loss(source, torch.randn(500, 8) * 1.5).item()
    large = coral_loss(source, torch.randn(500, 8) * 3.0).item()
    assert 0 < small < large


def test_multi_kernel_mmd_separates_shifted_samples_from_same_distribution_samples() -> None:
    torch.manual_seed(0)
    same = multi_kernel_mmd(torch.randn(200, 5), torch.randn(200, 5)).item()
    shifted = multi_kernel_mmd(torch.randn(200, 5), torch.randn(200, 5) + 1.0).item()
    assert shifted > 10 * abs(same)


def test_entropy_of_uniform_and_one_hot_rows() -> None:
    assert entropy(torch.full((3, 4), 0.25)).item() == pytest.approx(torch.log(torch.tensor(4.0)).item())
    assert entropy(torch.eye(4)).item() == pytest.approx(0.0, abs=1e-6)
