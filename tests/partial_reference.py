"""Slow reference partial convolution, written straight from the paper's eq. 1-5.

Independent of seg.layers on purpose: every window is materialised (F.unfold) together with its
mask window M (the zero-padded valid mask, or 1^p0 in padding mode), and each output is
W^T (X (.) M) * ||1|| / ||M|| + b where ||M|| > 0, else 0. Nothing is separable, cached or in place.
"""
import torch
import torch.nn.functional as F


def reference_partial_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                             valid=None):
    """Returns (output, valid_out); valid=None means padding mode (M = 1^p0, eq. 4-5)."""
    n, c_in, h, w = x.shape
    c_out, c_in_group, kh, kw = weight.shape
    if valid is None:
        valid = torch.ones(n, 1, h, w, dtype=x.dtype)
    geometry = dict(kernel_size=(kh, kw), dilation=dilation, padding=padding, stride=stride)
    # Windows of X (.) M, zero padded: (N, C_in * kh * kw, L).
    windows = F.unfold(x * valid, **geometry)
    # ||M||_1 per window: sum of the zero-padded mask over the window, (N, 1, L).
    mask_windows = F.unfold(valid, **geometry)
    norm_m = mask_windows.sum(dim=1, keepdim=True)
    norm_one = kh * kw  # ||1||_1: the window size (eq. 2 and 5)

    outputs = []
    per_group = c_out // groups
    for g in range(groups):
        rows = slice(g * c_in_group * kh * kw, (g + 1) * c_in_group * kh * kw)
        w_g = weight[g * per_group:(g + 1) * per_group].reshape(per_group, -1)
        outputs.append(torch.einsum("ok,nkl->nol", w_g, windows[:, rows]))
    out = torch.cat(outputs, dim=1)

    seen = norm_m > 0
    ratio = torch.where(seen, norm_one / norm_m.clamp(min=1e-30), torch.zeros_like(norm_m))
    out = out * ratio
    if bias is not None:
        out = out + bias.view(1, -1, 1) * seen
    out = torch.where(seen, out, torch.zeros_like(out))

    out_h = (h + 2 * _pair(padding)[0] - _pair(dilation)[0] * (kh - 1) - 1) // _pair(stride)[0] + 1
    out_w = (w + 2 * _pair(padding)[1] - _pair(dilation)[1] * (kw - 1) - 1) // _pair(stride)[1] + 1
    valid_out = seen.to(x.dtype).view(n, 1, out_h, out_w)
    return out.view(n, c_out, out_h, out_w), valid_out


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)
