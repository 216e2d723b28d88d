"""The transposed convolutions' matmul route: exact where used, chosen per shape, modules left as they were."""

import pytest
import torch
from torch import nn

from ganinv import tuned_inference
from ganinv.tuned_inference import _CHOICES, conv_transpose2d_by_matmul, tuned_transposed_convolutions


@pytest.mark.parametrize(
    "c_in, c_out, kernel, stride, padding, output_padding, bias, size",
    [
        (8, 1, 4, 2, 1, 0, True, 7),
        (8, 3, 4, 2, 1, 0, False, 5),
        (4, 6, 3, 1, 1, 0, True, 6),
        (4, 2, 5, 2, 2, 1, True, 4),
        (3, 5, (3, 5), (2, 3), (1, 2), (1, 2), True, 4),
        (16, 8, 4, 1, 0, 0, False, 1),  # the DCGAN first layer: 1x1 -> 4x4
    ],
)
def test_matmul_route_matches_pytorch(c_in, c_out, kernel, stride, padding, output_padding, bias, size):
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding, output_padding, bias=bias)
    x = torch.randn(3, c_in, size, size + 1)
    torch.testing.assert_close(conv_transpose2d_by_matmul(x, layer), layer(x), rtol=1e-5, atol=1e-5)


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh()
    ).eval()


def test_outputs_agree_and_modules_are_restored():
    net = _net()
    x = torch.randn(5, 16, 7, 7)
    with torch.inference_mode():
        expected = net(x)
        with tuned_transposed_convolutions(net):
            first, second = net(x), net(x)  # the first call measures, the second uses the choice
            empty = net(torch.randn(0, 16, 7, 7))  # nothing to measure on: PyTorch's route
    assert empty.shape == (0, 1, 28, 28)
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(second, expected, rtol=1e-5, atol=1e-5)
    assert all("forward" not in vars(m) for m in net.modules())
    assert {tuple(shape) for shape, _ in _CHOICES[net[0]]} == {(5, 16, 7, 7)}
    assert {tuple(shape) for shape, _ in _CHOICES[net[2]]} == {(5, 8, 14, 14)}


def test_training_calls_and_owned_forwards_are_left_alone():
    net = _net()
    own = net[2].forward
    net[2].forward = own  # an owner's override on the instance is kept as it is
    x = torch.randn(2, 16, 7, 7, requires_grad=True)
    with tuned_transposed_convolutions(net):
        net(x).sum().backward()  # grad enabled: PyTorch's route, nothing measured
    assert x.grad is not None and not _CHOICES.get(net[0])
    assert net[2] not in _CHOICES and vars(net[2])["forward"] is own


def test_a_route_that_disagrees_is_never_used(monkeypatch):
    def wrong(x, layer):
        return nn.ConvTranspose2d.forward(layer, x) + 1.0

    net = _net()
    x = torch.randn(4, 16, 7, 7)
    with torch.inference_mode():
        expected = net(x)
        monkeypatch.setattr(tuned_inference, "conv_transpose2d_by_matmul", wrong)
        with tuned_transposed_convolutions(net):
            outputs = [net(x) for _ in range(3)]
    assert not any(choice for choice in _CHOICES[net[0]].values())
    for out in outputs:
        torch.testing.assert_close(out, expected)
