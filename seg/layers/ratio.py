"""The partial-padding ratio r = ||1|| / ||M|| (paper eq. 2 and 5).

When the real region is a rectangle (the whole input in padding mode, or a padded crop), the
number of real taps in a window factorises: ||M|| = real_rows * real_cols. The ratio is then a
row factor times a column factor, (k_h / real_rows) * (k_w / real_cols), each a function of one
axis only. That is what this file exploits:

* padding mode (eager): the factors differ from 1 only in a few border rows and columns, so they
  are kept as short "strips" in a module-level cache keyed on the conv geometry, the input
  (H, W), the device and the dtype. The key never holds a module or a batch size, so `.to()`,
  `deepcopy`, DDP and DataParallel replicas all find the same entries (replica threads at worst
  both build an identical entry), and a new batch size never recomputes them. A StripPlan also
  gives the same ratio as one (H_out, W_out) map, built on first use: autograd multiplies by it
  once forward and once backward, fewer operations than re-weighting strips of the gradient.
* padding mode (torch.compile / export): the factors are computed from the input shape with a
  handful of tensor ops, so a traced graph follows the input size instead of baking a ratio in.
* rectangle masks (eager): `rectangle_plan`, the same strips around one rectangle per sample,
  plus the output box that can see a real pixel and the input crop it reads, so a masked conv
  runs on the crop and re-weights strips, never a full-size mask or ratio map (cached; the
  boxes themselves come from seg.layers.boxes).

Both caches are LRUs of at most SEG_RATIO_CACHE_SIZE entries each (default 1024; one entry per
conv geometry and input size, so a model at one input size uses one entry per distinct padded
conv): inference over many image sizes (multi-scale, a folder of photos) evicts the sizes used
least recently instead of growing without limit. set_ratio_cache_size() changes the bound.
* rectangle masks (traced): per-sample factors from the mask's bounding box, in closed form.
* any other mask: the general path, a convolution of the mask with ones (eq. 2 as written).

A window with no real pixel has ratio 0, never inf: the ratio is computed in float32 (float64
for float64 inputs) from integer counts, so float16/bfloat16 never see a division by zero.
"""
import os
import threading
from collections import OrderedDict
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F


class Strip(NamedTuple):
    """Output rows (axis 2) or columns (axis 3) start:start+length whose ratio factor is not 1."""

    axis: int
    start: int
    length: int
    factor: torch.Tensor  # k / real_taps, shaped to broadcast along its axis
    bias_factor: torch.Tensor  # 1 - factor where the window has a real tap, else 0
    keep: Optional[torch.Tensor]  # 0 where the window has no real tap; None when there is none


class LRUCache:
    """A dict of at most `bound` entries that evicts the least recently used; thread-safe."""

    def __init__(self, bound: int):
        self.bound, self._entries, self._lock = bound, OrderedDict(), threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key not in self._entries:
                return default
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            self._evict()

    def resize(self, bound: int) -> None:
        with self._lock:
            self.bound = bound
            self._evict()

    def _evict(self) -> None:
        while len(self._entries) > self.bound:
            self._entries.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def items(self):
        with self._lock:
            return list(self._entries.items())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _cache_bound(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"SEG_RATIO_CACHE_SIZE={text!r} must be a whole number of cache entries "
                         "of at least 1 (e.g. 1024)")
    return int(text)


_PLANS = LRUCache(_cache_bound(os.environ.get("SEG_RATIO_CACHE_SIZE", "1024")))


def clear_ratio_cache() -> None:
    """Empties the border-strip cache (the benchmark uses this to time a first iteration)."""
    _PLANS.clear()
    _RECTANGLE_PLANS.clear()


def set_ratio_cache_size(entries: int) -> None:
    """Bounds each ratio cache (border strips, rectangles) to `entries` plans, evicting the least
    recently used now if it holds more."""
    bound = _cache_bound(str(entries))
    for cache in (_PLANS, _RECTANGLE_PLANS):
        cache.resize(bound)


def ratio_cache_info() -> dict:
    """Returns {"entries", "bytes"} held by both ratio caches (tensor storages, each once)."""
    storages = {}
    entries = 0
    for cache in (_PLANS, _RECTANGLE_PLANS):
        for _, plan in cache.items():
            entries += 1
            for tensor in _plan_tensors(plan):
                storage = tensor.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
    return {"entries": entries, "bytes": sum(storages.values())}


def _plan_tensors(plan):
    if plan is None:
        return []
    if isinstance(plan, RectanglePlan):
        return [plan.rows, plan.cols] + _plan_tensors(plan.strips)
    tensors = [t for strip in plan.strips for t in (strip.factor, strip.bias_factor, strip.keep)]
    tensors += list(plan._maps or ())
    return [t for t in tensors if t is not None]


def output_length(length, kernel: int, stride: int, padding: int, dilation: int):
    """Returns the output length of a convolution along one axis (int or symbolic int)."""
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def real_taps(out_index, kernel: int, stride: int, padding: int, dilation: int, start, stop):
    """Returns how many of the window's taps fall in the real interval [start, stop).

    Works on Python ints and on integer tensors alike (broadcasting), so the cached eager path
    and the traced path share one formula.
    """
    first = out_index * stride - padding  # input position of tap 0
    lo = -((first - start) // dilation)  # ceil((start - first) / dilation): first real tap
    hi = -((first - stop) // dilation)  # ceil((stop - first) / dilation): one past the last
    if isinstance(lo, torch.Tensor):
        return (hi.clamp(max=kernel) - lo.clamp(min=0)).clamp(min=0)
    return max(0, min(kernel, hi) - max(0, lo))


def axis_factors(out_len, kernel, stride, padding, dilation, start, stop, device, dtype):
    """Returns k / real_taps for every output position along one axis (0 where no real tap).

    start/stop are ints (the whole axis) or (N, 1) tensors (one rectangle per sample); the result
    is (out_len,) or (N, out_len).
    """
    index = torch.arange(out_len, device=device)
    count = real_taps(index, kernel, stride, padding, dilation, start, stop).to(dtype)
    return torch.where(count > 0, kernel / count.clamp(min=1), torch.zeros_like(count))


class StripPlan:
    """The Strips of one output map of size (H_out, W_out), and the same ratio as full maps.

    ratio_map() is built on first use (training and the fused path; the strips path re-weights
    the strips in place in inference) and kept with the plan: (ratio, keep), ratio = row factor
    * column factor, keep = 0 where a window has no real tap (None when every window has one).
    """

    __slots__ = ("strips", "size", "_maps")

    def __init__(self, strips: tuple, size: tuple):
        self.strips, self.size, self._maps = strips, size, None

    def ratio_map(self) -> tuple:
        if self._maps is None:
            table = self.strips[0].factor
            with torch.inference_mode(False):  # cached: never an inference tensor
                ratio = torch.ones(self.size, dtype=table.dtype, device=table.device)
                keep = ratio.clone() if any(s.keep is not None for s in self.strips) else None
                for strip in self.strips:  # rows (L, 1) and columns (L,) broadcast on the map
                    ratio.narrow(strip.axis - 2, strip.start, strip.length).mul_(strip.factor)
                    if strip.keep is not None:
                        keep.narrow(strip.axis - 2, strip.start, strip.length).mul_(strip.keep)
            self._maps = (ratio, keep)
        return self._maps


def border_plan(size, kernel, stride, padding, dilation, device, dtype) -> StripPlan:
    """Returns the StripPlan of a whole-input (padding mode) ratio for input size (H, W); cached.

    The key is the geometry, the input size, the device and the dtype: nothing that a batch size,
    a module instance or a replica could change.
    """
    key = (size[0], size[1], kernel, stride, padding, dilation, device, dtype)
    plan = _PLANS.get(key)
    if plan is None:
        spans = [(2 + axis, start, counts, kernel[axis]) for axis in (0, 1)
                 for start, counts in _axis_spans(size[axis], kernel[axis], stride[axis],
                                                  padding[axis], dilation[axis])]
        out_size = tuple(output_length(size[a], kernel[a], stride[a], padding[a], dilation[a])
                         for a in (0, 1))
        plan = StripPlan(_strips(spans, device, dtype), out_size)
        _PLANS.put(key, plan)
    return plan


def _axis_spans(length, kernel, stride, padding, dilation):
    """Returns [(start, real_taps per output position)] of the border strips of one axis."""
    out_len = output_length(length, kernel, stride, padding, dilation)
    # Only windows that start before the input or end after it can miss taps.
    lead = min(out_len, -(-padding // stride))
    last_tap = dilation * (kernel - 1) - padding  # input position of the last tap of window 0
    trail_from = max(lead, -(-(length - last_tap) // stride))  # first window ending past the input
    if trail_from >= out_len:  # lead and trail strips meet: one strip over the whole axis
        lead, trail_from = out_len, out_len
    # One narrow() view per strip: strided views covering both strips at once are far slower on
    # CPU (no vectorised kernel for such strides).
    return [(start, [real_taps(o, kernel, stride, padding, dilation, 0, length)
                     for o in range(start, stop)])
            for start, stop in ((0, lead), (trail_from, out_len)) if stop > start]


def _strips(spans, device, dtype):
    # All numbers go to the device in one tensor (a first iteration pays one copy per geometry);
    # each strip's factor, bias factor and keep mask are views into it.
    values = []
    for _, _, counts, kernel in spans:
        values += [kernel / n if n else 0.0 for n in counts]
        values += [1.0 - kernel / n if n else 0.0 for n in counts]
        values += [1.0 if n else 0.0 for n in counts]
    table = _cacheable_tensor(values, dtype, device)
    views = table.split([len(counts) for _, _, counts, _ in spans for _ in range(3)])
    strips = []
    for i, (axis, start, counts, _) in enumerate(spans):
        # Row factors broadcast over the columns that follow them; column factors are last.
        factor, bias_factor, keep = views[3 * i:3 * i + 3]
        keep = keep if 0 in counts else None
        if axis == 2:
            factor, bias_factor = factor[:, None], bias_factor[:, None]
            keep = None if keep is None else keep[:, None]
        strips.append(Strip(axis, start, len(counts), factor, bias_factor, keep))
    return tuple(strips)


def _cacheable_tensor(values, dtype, device) -> torch.Tensor:
    """Returns torch.tensor(values) as a normal tensor even under torch.inference_mode.

    Cached tensors outlive the call that built them: an inference tensor cached during an
    evaluation under inference_mode would make every later training step fail ("Inference
    tensors cannot be saved for backward").
    """
    with torch.inference_mode(False):
        return torch.tensor(values, dtype=dtype, device=device)


def ratio_dtype(dtype: torch.dtype) -> torch.dtype:
    """Returns the dtype the ratio is computed in: float64 for float64 inputs, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def full_ratio(height, width, kernel, stride, padding, dilation, device, dtype) -> torch.Tensor:
    """Returns the whole-input ratio map (H_out, W_out) from the (possibly symbolic) input size."""
    maps = []
    for axis, length in enumerate((height, width)):
        geometry = (kernel[axis], stride[axis], padding[axis], dilation[axis])
        out_len = output_length(length, *geometry)
        maps.append(axis_factors(out_len, *geometry, 0, length, device, dtype))
    return maps[0][:, None] * maps[1][None, :]


def rectangle_bounds(valid: torch.Tensor):
    """Returns ((top, bottom), (left, right)) as (N, 1) tensors if every sample's mask is one
    axis-aligned rectangle (possibly empty), else None."""
    bounds, inside = [], []
    profiles = (valid.amax(dim=3).flatten(1), valid.amax(dim=2).flatten(1))  # (N, H), (N, W)
    for profile in profiles:
        start = profile.argmax(dim=1, keepdim=True)  # first real row/column (0 if none)
        stop = start + profile.sum(dim=1, keepdim=True).long()
        index = torch.arange(profile.shape[1], device=valid.device)
        inside.append((index >= start) & (index < stop))
        bounds.append((start, stop))
    box = inside[0][:, None, :, None] & inside[1][:, None, None, :]
    return tuple(bounds) if torch.equal(box, valid != 0) else None


def mask_ratio(valid, kernel, stride, padding, dilation):
    """Returns (ratio, valid_out), both (N, 1, H_out, W_out) in float32 (float64 for float64
    masks), for a 0/1 mask valid (N, 1, H, W) zero-padded by `padding` (eq. 2 and 3)."""
    dtype = ratio_dtype(valid.dtype)
    # The rectangle test reads the mask back (a sync); a traced graph takes the general path.
    bounds = None if torch.compiler.is_compiling() else rectangle_bounds(valid)
    if bounds is not None:
        factors = []
        for axis, (start, stop) in enumerate(bounds):
            geometry = (kernel[axis], stride[axis], padding[axis], dilation[axis])
            out_len = output_length(valid.shape[2 + axis], *geometry)
            factors.append(axis_factors(out_len, *geometry, start, stop, valid.device, dtype))
        ratio = factors[0][:, None, :, None] * factors[1][:, None, None, :]
    else:
        ones = torch.ones(1, 1, *kernel, dtype=dtype, device=valid.device)
        count = F.conv2d(valid.to(dtype), ones, None, stride, padding, dilation)
        # Counts are small integers; round() guards against a backend's summation error.
        count = count.round()
        ratio = torch.where(count > 0, kernel[0] * kernel[1] / count.clamp(min=1),
                            torch.zeros_like(count))
    return ratio, (ratio > 0).to(dtype)


class RectanglePlan(NamedTuple):
    """How to run a masked conv whose real region is one rectangle (see rectangle_plan)."""

    out_size: tuple  # (H_out, W_out) of the whole map
    out_box: tuple  # (row_lo, row_hi, col_lo, col_hi): the outputs that can see a real pixel
    crop: tuple  # (row0, row1, col0, col1): the real input pixels those outputs read
    pads: tuple  # (left, right, top, bottom), F.pad's order: the zeros around the crop they read
    strips: StripPlan  # the ratio's strips, positions relative to out_box
    rows: torch.Tensor  # (H_out, 1): 1 where a window's rows hold a real pixel, else 0
    cols: torch.Tensor  # (W_out,): the same for columns; valid_out = rows * cols
    valid_box: Optional[tuple]  # valid_out's rectangle (top, bottom, left, right); None: gaps


_RECTANGLE_PLANS = LRUCache(_PLANS.bound)  # padded training batches bring many rectangles


def rectangle_plan(size, box, kernel, stride, padding, dilation, device, dtype):
    """Returns the RectanglePlan of the real rectangle box = (top, bottom, left, right) of an
    input of size (H, W) zero-padded by `padding`, or None if no window sees a real pixel; cached.

    Windows outside out_box read holes only (output and valid_out 0); inside it the ratio is 1
    except in the strips, the windows across the rectangle's edge. So the conv needs only the
    real crop (plus the zeros its windows read) and a few re-weighted strips: no full-size mask
    multiply and no full-size ratio map.
    """
    key = (size[0], size[1], box, kernel, stride, padding, dilation, device, dtype)
    missing = object()
    plan = _RECTANGLE_PLANS.get(key, missing)
    if plan is missing:
        axes = [_interval_spans(size[axis], box[2 * axis], box[2 * axis + 1], kernel[axis],
                                stride[axis], padding[axis], dilation[axis]) for axis in (0, 1)]
        plan = None
        if None not in axes:
            plan = _rectangle_plan(axes, kernel, device, dtype)
        _RECTANGLE_PLANS.put(key, plan)
    return plan


def _interval_spans(length, start, stop, kernel, stride, padding, dilation):
    """Returns (out_len, lo, hi, crop, pads, spans) of the real interval [start, stop) of one
    axis: outputs lo:hi see a real pixel; spans [(position - lo, real taps per position)] list
    the outputs whose taps are not all real. None when no output sees a real pixel."""
    out_len = output_length(length, kernel, stride, padding, dilation)
    reach = dilation * (kernel - 1)  # from a window's first tap to its last
    lo = max(0, -(-(start + padding - reach) // stride))  # last tap at or after start
    hi = min(out_len, (stop - 1 + padding) // stride + 1)  # first tap before stop
    if start >= stop or lo >= hi:
        return None
    full_lo = max(lo, -(-(start + padding) // stride))  # first window with every tap real
    full_hi = min(hi, max(full_lo, (stop - 1 - reach + padding) // stride + 1))
    bounds = [(lo, hi)] if full_lo >= full_hi else [(lo, full_lo), (full_hi, hi)]
    spans = [(a - lo, [real_taps(o, kernel, stride, padding, dilation, start, stop)
                       for o in range(a, b)]) for a, b in bounds if b > a]
    first, last = lo * stride - padding, (hi - 1) * stride - padding + reach + 1
    crop = (max(first, start), min(last, stop))
    return out_len, lo, hi, crop, (crop[0] - first, last - crop[1]), spans


def _rectangle_plan(axes, kernel, device, dtype):
    (h_out, row_lo, row_hi, row_crop, row_pads, row_spans), \
        (w_out, col_lo, col_hi, col_crop, col_pads, col_spans) = axes
    spans = [(2, start, counts, kernel[0]) for start, counts in row_spans]
    spans += [(3, start, counts, kernel[1]) for start, counts in col_spans]
    seen, gaps = [], False  # per axis: 1 where a window holds a real tap (gaps when dilated)
    for out_len, lo, hi, axis_spans in ((h_out, row_lo, row_hi, row_spans),
                                        (w_out, col_lo, col_hi, col_spans)):
        flags = [0.0] * lo + [1.0] * (hi - lo) + [0.0] * (out_len - hi)
        for start, counts in axis_spans:
            for offset, count in enumerate(counts):
                flags[lo + start + offset] = 1.0 if count else 0.0
                gaps = gaps or not count
        seen.append(_cacheable_tensor(flags, dtype, device))
    return RectanglePlan((h_out, w_out), (row_lo, row_hi, col_lo, col_hi),
                         row_crop + col_crop, col_pads + row_pads,
                         StripPlan(_strips(spans, device, dtype) if spans else (),
                                   (row_hi - row_lo, col_hi - col_lo)),
                         seen[0][:, None], seen[1],
                         None if gaps else (row_lo, row_hi, col_lo, col_hi))
