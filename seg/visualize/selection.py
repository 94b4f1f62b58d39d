"""Which models and images a rendering uses: the zero/partial checkpoint pair and images picked by
count or name."""
from seg.engine.segmentation import load_model
from seg.utils.errors import BadValueError

PAIR = ("zero", "partial")
# a pair must agree on everything but the padding
ARCHITECTURE = ("name", "num_classes", "output_stride", "aspp_pool_size")


def load_pair(zero_path, partial_path, *, device="cpu"):
    """Return {"zero": model, "partial": model} loaded with seg.engine.segmentation.load_model, on
    `device`.

    The first checkpoint is the baseline (zero padding or another non-partial mode), the second the
    partial padding model; a swapped pair would mislabel every panel, so it is refused. So is a pair
    of different architectures or class counts: its differences would not be the padding's.
    """
    models, configs = {}, {}
    for key, path in zip(PAIR, (zero_path, partial_path)):
        model, config = load_model(path, map_location=device)
        padding = config["model"]["padding"]
        if (key == "partial") != (padding == "partial"):
            raise BadValueError(
                f"{path} was trained with {padding} padding but is given as the {key} padding "
                "model; "
                "pass --checkpoints ZERO PARTIAL in that order"
            )
        models[key] = model.to(device).eval()
        configs[key] = config["model"]
    for field in ARCHITECTURE:
        zero, partial = configs["zero"].get(field), configs["partial"].get(field)
        if zero != partial:
            raise BadValueError(
                f"{zero_path} has model.{field}={zero!r} but {partial_path} has model.{field}="
                f"{partial!r} — compare two checkpoints that differ only in their padding"
            )
    return models


def image_names(dataset):
    """Return the names (paths relative to the data root) of the dataset's images without loading
    them."""
    if hasattr(dataset, "samples"):
        return [sample.name for sample in dataset.samples]
    return [dataset[i]["name"] for i in range(len(dataset))]


def select_indices(dataset, *, num=None, names=None):
    """Return dataset indices: those whose name contains one of `names` (in `names` order), else the
    first `num`."""
    all_names = image_names(dataset)
    if names:
        indices = []
        for wanted in names:
            found = [i for i, name in enumerate(all_names) if wanted in name]
            if not found:
                raise BadValueError(
                    f"no image name contains {wanted!r} among {len(all_names)} images "
                    f"(e.g. {all_names[0] if all_names else 'none'}); check --names and --split"
                )
            indices += [i for i in found if i not in indices]
        return indices
    return list(range(len(all_names) if num is None else min(num, len(all_names))))
