"""Activation maps: channel sums of ReLU outputs via hooks, resized to the input, one colour scale
per layer."""
import numpy as np
import pytest
import torch
from torch import nn

from seg.layers import set_padding
from seg.visualize.activations import (
    activation_figure,
    activation_maps,
    default_layers,
    relu_layers,
)


def ones_net(stride=1):
    # conv(ones) on an all-ones image counts the real pixels under each 3x3 window: zero padding
    # sees fewer at the border, partial padding rescales them back to 9 (paper eq. 4).
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, bias=False, stride=stride),
        nn.ReLU(inplace=True),
        nn.Conv2d(2, 1, 1, bias=False),
    )
    nn.init.ones_(net[0].weight)
    nn.init.constant_(net[2].weight, -1.0)
    return net


def test_channel_sum_shows_the_zero_padding_border_and_partial_removes_it():
    image = torch.ones(1, 1, 6, 8)
    zero = activation_maps(ones_net(), image, ["1"])["1"]
    partial = activation_maps(set_padding(ones_net(), "partial"), image, ["1"])["1"]
    counts = np.full((6, 8), 9.0)
    counts[[0, -1], :] = 6
    counts[:, [0, -1]] = 6
    counts[[0, 0, -1, -1], [0, -1, 0, -1]] = 4
    assert zero == pytest.approx(2 * counts)  # two channels summed
    assert partial == pytest.approx(np.full((6, 8), 18.0))


def test_non_relu_layers_are_rectified_and_maps_match_the_input_size():
    image = torch.ones(1, 1, 6, 8)
    maps = activation_maps(ones_net(stride=2), image, ["1", "2"])
    assert maps["1"].shape == (6, 8)  # 3 x 4 feature map resized to the input
    assert (maps["2"] == 0).all()  # the last conv is all negative: ReLU of it is zero


def test_unknown_layer_names_the_choices():
    with pytest.raises(ValueError, match="ReLU layers are: 1"):
        activation_maps(ones_net(), torch.ones(1, 1, 4, 4), ["nope"])
    assert relu_layers(ones_net()) == ["1"]
    assert default_layers(ones_net()) == ["1"]


def test_both_models_share_each_layers_colour_scale():
    rng = np.random.default_rng(0)
    zero = {"a": rng.random((6, 8)) * 3, "b": rng.random((6, 8)) * 50}
    partial = {"a": rng.random((6, 8)) * 5, "b": rng.random((6, 8)) * 20}
    fig = activation_figure(np.zeros((6, 8, 3), np.uint8), zero, partial)
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    limits = [img.get_clim() for img in images]
    assert limits[1] == limits[2] == (0.0, pytest.approx(max(zero["a"].max(), partial["a"].max())))
    assert limits[4] == limits[5] == (0.0, pytest.approx(max(zero["b"].max(), partial["b"].max())))
    assert (images[1].get_array() == zero["a"]).all() and (
        images[5].get_array() == partial["b"]
    ).all()
