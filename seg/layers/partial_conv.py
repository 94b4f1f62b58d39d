"""Partial convolution (paper eq. 1-3) and partial-convolution-based padding (eq. 4-5)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from seg.layers.boxes import rectangle_boxes, remember_boxes
from seg.layers.ratio import (
    border_plan,
    full_ratio,
    mask_ratio,
    output_length,
    ratio_dtype,
    rectangle_plan,
)
from seg.layers.ratio_path import fused_ratio, ratio_path


def resolve_padding(padding, kernel, dilation) -> tuple:
    """Returns the (pad_h, pad_w) ints of a conv's padding (int, pair, 'valid' or 'same')."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(t % 2 for t in totals):
            raise ValueError(
                f"partial padding needs symmetric padding, but padding='same' with kernel {kernel} "
                f"and dilation {dilation} pads unevenly; give explicit integer padding instead")
        return tuple(t // 2 for t in totals)
    return _pair(padding)


def partial_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                   valid=None):
    """Returns (output, valid_out) of a partial convolution.

    valid=None is partial-convolution-based padding (eq. 4-5): the whole input is real and only
    the zero padding is the hole; valid_out is then None (it would be all ones). With valid, a
    0/1 mask (N, 1, H, W) of the input's dtype, it is the partial convolution of eq. 1-3: the
    output depends only on real pixels, re-weighted by ||1|| / ||M||, and valid_out (N, 1, H', W')
    marks the windows that saw at least one real pixel. A window with no real pixel outputs 0,
    bias included. The bias is added after the re-weighting and is never re-weighted.
    """
    kernel = tuple(weight.shape[-2:])
    stride, dilation = _pair(stride), _pair(dilation)
    padding = resolve_padding(padding, kernel, dilation)
    if valid is not None:
        return _masked_conv2d(input, weight, bias, stride, padding, dilation, groups, valid)
    if padding == (0, 0):  # no padding, no hole: the ratio is 1 everywhere
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups), None
    if torch.compiler.is_compiling():
        return _traced_padding_conv2d(input, weight, bias, stride, padding, dilation, groups), None
    plan = border_plan(tuple(input.shape[-2:]), kernel, stride, padding, dilation, input.device,
                       _conv_dtype(input))
    return _reweighted_conv2d(input, weight, bias, stride, padding, dilation, groups, plan,
                              ratio_path(input.device)), None


def _records_grad(*tensors) -> bool:
    """Returns whether autograd records an op on these tensors (None entries are skipped)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _conv_dtype(input):
    """Returns the dtype F.conv2d gives for input: autocast's where autocast casts it (a
    floating-point input other than float64, on a device where autocast is on)."""
    kind = input.device.type
    if input.is_floating_point() and input.dtype != torch.float64 and \
            torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return input.dtype


def _reweighted_conv2d(input, weight, bias, stride, padding, dilation, groups, plan, path):
    """Returns F.conv2d(...) with the ratio of the StripPlan plan applied and the bias kept as
    is: conv * ratio + bias where a window has a real tap, 0 where it has none.

    path "strips" (seg.layers.ratio_path), inference: only the border strips are re-weighted,
    in place. Otherwise one fused operation over the whole output with the plan's ratio map,
    also under autograd: in-place strips would need a custom backward that copies the gradient
    and re-weights its strips, about ten small operations per conv, a visible share of a cheap
    conv's training step (tools/train_throughput.py); the map costs one pass each way.
    """
    if not plan.strips:  # the ratio is 1 everywhere
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    record = _records_grad(input, weight, bias)
    if path == "strips" and not record:
        output = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
        _reweight_in_place(output, bias, plan.strips)
        return output
    output = F.conv2d(input, weight, None, stride, padding, dilation, groups)
    ratio, keep = plan.ratio_map()
    # In place: the conv does not keep its output for backward, and a second full-size map
    # would raise the peak memory of training. In-place ops also keep the output's dtype where
    # the plan's differs (a rectangle plan is built for the input's dtype, float32 under
    # autocast).
    return fused_ratio(output, bias, ratio, keep, record)


def _reweight_in_place(output, bias, strips):
    """Multiplies each strip of output (conv + bias) by its ratio factor in place, bias kept.

    The ratio is 1 in the interior, so only border rows and columns are touched. Rows and then
    columns are scaled; a corner gets both factors, which is the separable ratio. Each strip of
    output holds conv + b, and (conv + b) * f + b * (1 - f) = conv * f + b leaves the bias alone.
    """
    for strip in strips:
        part = output.narrow(strip.axis, strip.start, strip.length)
        if bias is None:
            part.mul_(strip.factor)
        else:
            # One pass per strip (column strips are strided reads, the dominant extra cost of
            # a large biased conv such as vgg16_bn's): (conv + b) * f + b * (1 - f).
            bias_view = bias.view((-1,) + (1,) * (part.dim() - 2))
            torch.addcmul(bias_view * strip.bias_factor, part, strip.factor, out=part)
    # Windows with no real tap must be 0; the column pass added b * (1 - f) to empty rows.
    for strip in strips:
        if strip.keep is not None:
            output.narrow(strip.axis, strip.start, strip.length).mul_(strip.keep)


def _traced_padding_conv2d(input, weight, bias, stride, padding, dilation, groups):
    """Returns the padding-mode output with the ratio computed from the input shape.

    Used under torch.compile/torch.export: no Python cache, no data-dependent branch, and a
    symbolic input size gives a ratio that follows it instead of a constant baked at trace time.
    """
    output = F.conv2d(input, weight, None, stride, padding, dilation, groups)
    ratio = full_ratio(input.shape[-2], input.shape[-1], tuple(weight.shape[-2:]), stride,
                       padding, dilation, input.device, ratio_dtype(output.dtype))
    ratio = ratio.to(output.dtype)
    output = output * ratio
    if bias is not None:
        output = output + bias.to(output.dtype).view(-1, 1, 1) * (ratio > 0).to(output.dtype)
    return output


def _masked_conv2d(input, weight, bias, stride, padding, dilation, groups, valid):
    """Returns (output, valid_out) of eq. 1-3 for a 0/1 mask valid (N, 1, H, W)."""
    kernel = tuple(weight.shape[-2:])
    # The rectangle test reads the mask back (a sync); a traced graph takes the general path.
    boxes = None if torch.compiler.is_compiling() else rectangle_boxes(valid)
    if boxes is not None:
        return _rectangle_conv2d(input, weight, bias, stride, padding, dilation, groups, valid,
                                 boxes)
    if kernel == (1, 1) and padding == (0, 0):
        # A 1x1 window is its own pixel: ratio = valid, so only the holes need zeroing.
        valid_out = valid[:, :, ::stride[0], ::stride[1]]
        output = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
        return output * valid_out.to(output.dtype), valid_out
    ratio, valid_out = mask_ratio(valid, kernel, stride, padding, dilation)
    output = F.conv2d(input * valid, weight, None, stride, padding, dilation, groups)
    output = output * ratio.to(output.dtype)
    if bias is not None:
        output = output + bias.to(output.dtype).view(-1, 1, 1) * valid_out.to(output.dtype)
    return output, valid_out.to(valid.dtype)


def _rectangle_conv2d(input, weight, bias, stride, padding, dilation, groups, valid, boxes):
    """Returns (output, valid_out) of eq. 1-3 when each sample's real region is a rectangle.

    The conv reads only the real crop of the input, zero-padded to what its windows reach
    (so hole contents are never read nor multiplied away), only the border strips of its
    output are re-weighted (seg.layers.ratio.rectangle_plan), and the output is zero-padded
    back to full size: windows that see no real pixel give 0. Consecutive samples with the
    same rectangle (a whole batch of equal-size images) share one convolution.
    """
    kernel = tuple(weight.shape[-2:])
    size = tuple(input.shape[-2:])
    outputs, valids, plan_boxes, start = [], [], [], 0
    while start < len(boxes):
        stop = start + 1
        while stop < len(boxes) and boxes[stop] == boxes[start]:
            stop += 1
        plan = rectangle_plan(size, boxes[start], kernel, stride, padding, dilation,
                              input.device, input.dtype)
        part = input[start:stop]
        plan_boxes.append(((0, 0, 0, 0) if plan is None else plan.valid_box, stop - start))
        if plan is None:  # no window sees a real pixel
            out_size = [output_length(size[a], kernel[a], stride[a], padding[a], dilation[a])
                        for a in (0, 1)]
            # times 0 rather than new_zeros: the output stays connected to the graph.
            outputs.append(part.new_zeros(stop - start, weight.shape[0], *out_size,
                                          dtype=_conv_dtype(part)) + 0 * weight.sum())
            valids.append(valid.new_zeros(stop - start, 1, *out_size))
        else:
            outputs.append(_crop_conv2d(part, weight, bias, stride, padding, dilation, groups,
                                        plan))
            valids.append((plan.rows * plan.cols).to(valid.dtype).expand(stop - start, 1, -1, -1))
        start = stop
    output, valid_out = (outputs[0], valids[0]) if len(outputs) == 1 else \
        (torch.cat(outputs), torch.cat(valids))
    if all(box is not None for box, _ in plan_boxes):  # rectangles again: the next conv knows
        remember_boxes(valid_out, [box for box, count in plan_boxes for _ in range(count)])
    return output, valid_out


def _crop_conv2d(input, weight, bias, stride, padding, dilation, groups, plan):
    """Returns the full-size output of one rectangle's masked conv (see _rectangle_conv2d)."""
    one_by_one = tuple(weight.shape[-2:]) == (1, 1) and padding == (0, 0)
    if one_by_one and not _records_grad(input, weight):
        # A 1x1 conv on a cropped (non-contiguous) view is slower than on the whole contiguous
        # map: run it whole and zero the windows outside the real box.
        output = F.conv2d(input, weight, bias, stride, 0, dilation, groups)
        return _zero_outside(output, plan.out_box)
    row0, row1, col0, col1 = plan.crop
    crop = input[:, :, row0:row1, col0:col1]
    left, right, top, bottom = plan.pads
    # The conv pads symmetrically itself and F.pad adds only the difference: oneDNN is slower
    # on an input padded entirely by F.pad (padding=0 picks other kernels).
    padding = (min(top, bottom), min(left, right))
    extra = (left - padding[1], right - padding[1], top - padding[0], bottom - padding[0])
    if any(extra):
        crop = F.pad(crop, extra)
    output = _reweighted_conv2d(crop, weight, bias, stride, padding, dilation, groups,
                                plan.strips, ratio_path(input.device))
    return _zero_extend(output, plan.out_box, plan.out_size)


def _zero_extend(output, box, size):
    """Returns output placed at box = (row_lo, row_hi, col_lo, col_hi) of a zero map of size."""
    row_lo, row_hi, col_lo, col_hi = box
    if (row_lo, row_hi, col_lo, col_hi) == (0, size[0], 0, size[1]):
        return output
    if _records_grad(output):
        return F.pad(output, (col_lo, size[1] - col_hi, row_lo, size[0] - row_hi))
    # Without autograd, zero only the margins: F.pad fills the whole map first (two writes).
    full = _zero_outside(output.new_empty(*output.shape[:2], *size), box)
    full[:, :, row_lo:row_hi, col_lo:col_hi].copy_(output)
    return full


def _zero_outside(output, box):
    """Returns output with everything outside box = (row_lo, row_hi, col_lo, col_hi) zeroed."""
    row_lo, row_hi, col_lo, col_hi = box
    output[:, :, :row_lo].zero_()
    output[:, :, row_hi:].zero_()
    output[:, :, row_lo:row_hi, :col_lo].zero_()
    output[:, :, row_lo:row_hi, col_hi:].zero_()
    return output


class PartialConv2d(nn.Conv2d):
    """nn.Conv2d whose zero padding is replaced by partial-convolution-based padding (eq. 4-5).

    Same constructor, parameters and state_dict as nn.Conv2d, so checkpoints are interchangeable.
    Holds no ratio state: the ratio lives in a module-level cache (seg.layers.ratio).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros":
            raise ValueError(
                f"PartialConv2d replaces zero padding, got padding_mode={self.padding_mode!r}; "
                "leave padding_mode at 'zeros' (or use nn.Conv2d for that mode)")

    def forward(self, input):
        return partial_conv2d(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups)[0]
