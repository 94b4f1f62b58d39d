"""A partial-padding model gives each image of a padded mixed-size batch its own logits."""
import pytest
import torch

from seg.inference import batch_invariance, pad_batch
from seg.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def trained_looking(model):
    """Returns model in eval mode with non-trivial BN statistics, as after training."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


# Size mixes with sides that are not multiples of the output stride (8), odd sides, an image
# wider than the others and one below 2x the stride; the first of each mix sets the batch size
# in one dimension only, so every image has holes on some side.
CASES = [
    ("deeplabv3plus_small", 8, None, [(72, 100), (50, 61), (37, 99), (9, 13)]),
    ("deeplabv3plus_small", 8, None, [(64, 64), (63, 65), (17, 8), (8, 120)]),
    ("deeplabv3plus_small", 8, 64, [(70, 90), (41, 45), (25, 88)]),  # windowed ASPP pooling
    ("deeplabv3plus_small", 16, None, [(70, 90), (41, 45), (25, 88)]),
    ("deeplabv3plus_resnet50", 8, None, [(48, 64), (33, 41), (17, 50)]),
    ("deeplabv3plus_resnet50", 8, None, [(41, 30), (40, 33), (9, 57)]),
    ("deeplabv3plus_wrn38", 8, None, [(40, 48), (23, 29), (31, 17)]),
]


@pytest.mark.parametrize("name, stride, pool, sizes", CASES)
def test_partial_padding_batch_equals_each_image_alone(name, stride, pool, sizes):
    torch.manual_seed(0)
    model = trained_looking(build_model(name, padding="partial", output_stride=stride,
                                        aspp_pool_size=pool))
    for row in batch_invariance(model, sizes):
        # Float tolerance: the same arithmetic up to summation order (pooling, conv kernels).
        assert row["max_abs"] <= 1e-5 * row["scale"], row
        assert row["agreement"] == 1.0, row


def test_zero_padding_batch_moves_the_logits():
    # The same measurement on zero padding: the padding of the batch leaks into the image.
    torch.manual_seed(0)
    model = trained_looking(build_model("deeplabv3plus_small", padding="zeros"))
    rows = batch_invariance(model, CASES[0][3])
    assert rows[0]["max_abs"] <= 1e-5 * rows[0]["scale"]  # the largest image has no holes
    for row in rows[1:]:
        assert row["max_abs"] > 0.05 * row["scale"], row


def test_pad_batch_puts_each_image_top_left():
    images = [torch.full((3, 4, 5), 1.0), torch.full((3, 6, 2), 2.0)]
    batch, valid = pad_batch(images)
    assert batch.shape == (2, 3, 6, 5) and valid.shape == (2, 1, 6, 5)
    assert torch.equal(batch[0, :, :4, :5], images[0]) and batch[0, :, 4:].abs().sum() == 0
    assert torch.equal(batch[1, :, :6, :2], images[1]) and batch[1, :, :, 2:].abs().sum() == 0
    assert valid[0].sum() == 20 and valid[1].sum() == 12
    assert torch.equal(valid[0, 0, :4, :5], torch.ones(4, 5))
