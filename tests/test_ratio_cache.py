"""The separable ratio cache: keyed on geometry, size, device and dtype, never on a module."""
import copy

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from partial_reference import reference_partial_conv2d

from seg.layers import (
    PartialConv2d,
    clear_ratio_cache,
    partial_path,
    ratio,
    ratio_cache_info,
    set_padding,
    set_ratio_cache_size,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def small_net():
    torch.manual_seed(0)
    return set_padding(nn.Sequential(
        nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=True), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, bias=False), nn.ReLU(),
        nn.Conv2d(8, 4, 1)), "partial")


def cache_size():
    return len(ratio._PLANS)  # private on purpose: the tests watch what the cache holds


def reference_net(net, x):
    # Layer by layer through the slow reference; 1x1 convs have no padding, hence no ratio.
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            x, _ = reference_partial_conv2d(x, layer.weight, layer.bias, layer.stride,
                                            layer.padding, layer.dilation, layer.groups)
        else:
            x = layer(x)
    return x


def test_batch_size_never_invalidates_the_cache():
    net = small_net()
    clear_ratio_cache()
    net(torch.randn(1, 3, 21, 18))
    entries = cache_size()
    assert entries == 3  # one per padded conv geometry; the 1x1 conv adds nothing
    for batch in (4, 2):
        x = torch.randn(batch, 3, 21, 18)
        torch.testing.assert_close(net(x), reference_net(net, x), rtol=1e-5, atol=1e-5)
    assert cache_size() == entries
    net(torch.randn(1, 3, 26, 18))  # a new input size is a new geometry in every layer
    assert cache_size() == 2 * entries


def test_copies_and_replicas_share_the_cache():
    net = small_net()
    x = torch.randn(2, 3, 21, 18)
    clear_ratio_cache()
    expected = net(x)
    entries = cache_size()
    for copied in (copy.deepcopy(net), nn.DataParallel(copy.deepcopy(net)), small_net()):
        torch.testing.assert_close(copied(x), expected, rtol=0, atol=0)
    assert cache_size() == entries


def test_to_another_dtype_gets_its_own_exact_entries():
    net = small_net()
    x = torch.randn(2, 3, 21, 18)
    net(x)
    net64 = copy.deepcopy(net).to(torch.float64)
    out = net64(x.double())  # the parameters require grad: the full ratio maps are built too
    torch.testing.assert_close(out, reference_net(net64, x.double()), rtol=1e-9, atol=1e-9)
    plans = [plan for key, plan in ratio._PLANS.items() if key[-1] == torch.float64]
    assert len(plans) == 3
    assert all(strip.factor.dtype == torch.float64 for plan in plans for strip in plan.strips)
    assert all(plan.ratio_map()[0].dtype == torch.float64 for plan in plans)


def test_ddp_replica_uses_the_cache(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        net = small_net()
        x = torch.randn(2, 3, 21, 18, requires_grad=True)
        expected = net(x)
        entries = cache_size()
        ddp = nn.parallel.DistributedDataParallel(copy.deepcopy(net))
        out = ddp(x)
        out.sum().backward()
        torch.testing.assert_close(out, expected, rtol=0, atol=0)
        assert cache_size() == entries
    finally:
        dist.destroy_process_group()


def test_module_holds_no_ratio_state():
    conv = PartialConv2d(3, 4, 3, padding=1)
    plain = nn.Conv2d(3, 4, 3, padding=1)
    assert set(vars(conv)) == set(vars(plain))


@pytest.fixture
def restore_bound():
    bound = ratio._PLANS.bound
    yield
    ratio.set_ratio_cache_size(bound)


def cache_over_sizes(bound, sizes):
    """Returns ratio_cache_info() after each size, training (full ratio maps cached too)."""
    net = small_net()
    clear_ratio_cache()
    ratio.set_ratio_cache_size(bound)
    info = []
    with partial_path("fused"):
        for size in sizes:
            net(torch.randn(1, 3, *size)).sum().backward()
            info.append(ratio_cache_info())
    return info


def test_memory_stays_flat_over_200_sizes(restore_bound):
    # A folder of photos: 200 input sizes, none repeated, in random order.
    sizes = [(h, w) for h in range(20, 40) for w in range(20, 40)]
    sizes = [sizes[i] for i in torch.randperm(len(sizes), generator=torch.Generator()
                                              .manual_seed(0))[:200]]
    info = cache_over_sizes(60, sizes)
    assert all(i["entries"] <= 60 for i in info)
    # The first conv sees a new size every time: the cache is full after 60 sizes at the latest.
    assert all(i["entries"] == 60 for i in info[60:])
    bytes_100, bytes_200 = info[99]["bytes"], info[199]["bytes"]
    assert 0.8 * bytes_100 <= bytes_200 <= 1.25 * bytes_100
    unbounded = cache_over_sizes(10_000, sizes)  # what the bound prevents: growth with sizes
    assert unbounded[-1]["entries"] > 300 and unbounded[-1]["bytes"] > 1.5 * unbounded[99]["bytes"]


def test_least_recently_used_size_is_evicted_first():
    cache = ratio.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    cache.resize(1)
    assert len(cache) == 1 and cache.get("c") == 3


def test_bad_bound_is_refused_with_the_fix(restore_bound):
    with pytest.raises(ValueError, match="at least 1"):
        set_ratio_cache_size(0)
