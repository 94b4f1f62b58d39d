"""The padding audit against brute-force enumeration of the windows."""
import itertools

import torch.nn as nn

from seg.layers.audit import audit_padding


def brute_force(length, kernel, stride, padding, dilation):
    """Returns (trailing padding read, largest k / real taps) by listing every window's taps."""
    out_len = (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    taps = [[o * stride + i * dilation for i in range(kernel)] for o in range(out_len)]
    last_read = max(max(t) for t in taps)  # index in the padded input
    real = [sum(padding <= t < padding + length for t in window) for window in taps]
    return last_read - (padding + length - 1), max(kernel / n for n in real if n)


def test_audit_matches_brute_force():
    for h, w, k, s, p, d in itertools.product((7, 8, 13), (9, 10), (3, 4, 7), (1, 2), (1, 3),
                                              (1, 2)):
        if h + 2 * p < d * (k - 1) + 1 or w + 2 * p < d * (k - 1) + 1:
            continue
        model = nn.Sequential(nn.Conv2d(3, 2, k, stride=s, padding=p, dilation=d))
        (layer,) = audit_padding(model, (h, w))
        (read_h, ratio_h), (read_w, ratio_w) = (brute_force(n, k, s, p, d) for n in (h, w))
        assert layer.input_size == (h, w) and layer.bottom_right == (read_h, read_w)
        assert layer.uneven == (read_h != p or read_w != p)
        assert abs(layer.max_ratio - ratio_h * ratio_w) < 1e-12


def test_audit_follows_shapes_through_the_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.MaxPool2d(3, 2, 1),
                          nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    layers = audit_padding(model, (64, 63))
    assert [l.name for l in layers] == ["0", "1", "3"]  # the 1x1 conv has no padding
    assert [l.input_size for l in layers] == [(64, 63), (32, 32), (16, 16)]
    assert [l.uneven for l in layers] == [True, True, False]
    assert layers[1].max_ratio != layers[1].max_ratio  # pooling: no partial ratio (NaN)
    assert layers[0].bottom_right == (0, 1) and layers[2].max_ratio == 2.25
