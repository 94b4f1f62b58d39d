"""Channel-summed ReLU activations at chosen layers, zero vs partial padding on one colour scale
(paper figure 5).

A layer is named as in `model.named_modules()`. ReLU outputs are summed over channels; for a module
that is not a ReLU its output is passed through ReLU first, so every map shows the positive
responses the paper plots. A ReLU module that runs several times in one forward (the shared `relu`
of a ResNet bottleneck) keeps its last call: the block's output after the residual add.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from seg.utils.errors import BadValueError
from seg.visualize.colors import image_to_rgb  # noqa: E402


def relu_layers(model):
    """Return the names of the model's ReLU modules, in forward-definition order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.ReLU)]


def default_layers(model, prefix="backbone.layer"):
    """Return the last ReLU of each backbone stage (e.g. backbone.layer1 .. layer4), the maps the
    paper shows."""
    last = {}
    for name in relu_layers(model):
        if name.startswith(prefix):
            last[name.split(".")[1]] = name
    return list(last.values()) or relu_layers(model)[-2:]


@torch.no_grad()
def activation_maps(model, image, layers):
    """Return {layer: float32 (H, W) numpy map}: channel-summed ReLU activations, bilinearly resized
    to the input.

    image: (1, 3, H, W) tensor on the model's device.
    """
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise BadValueError(
            f"layers {missing} are not modules of {type(model).__name__}; "
            f"ReLU layers are: {', '.join(relu_layers(model))} (tools/render.py activations "
            "--list-layers)"
        )
    captured, handles = {}, []

    def hook(name):
        def save(module, inputs, output):
            # Clone: an in-place ReLU's output tensor is overwritten by later layers.
            captured[name] = F.relu(output.detach()).sum(1, keepdim=True).float().clone()
        return save

    for name in layers:
        handles.append(modules[name].register_forward_hook(hook(name)))
    try:
        model.eval()
        model(image)
    finally:
        for handle in handles:
            handle.remove()
    size = image.shape[-2:]
    return {
        name: F.interpolate(captured[name], size=size, mode="bilinear", align_corners=False)[0, 0]
        .cpu()
        .numpy()
        for name in layers
    }


def activation_figure(image_rgb, maps_zero, maps_partial, *, title="", cmap="jet"):
    """Return a matplotlib figure: per layer, image | zero padding | partial padding, one colour
    scale per layer.

    The two models share each row's colour limits (0 .. the larger maximum), so brighter means a
    stronger response in either model; a colour bar per row gives the scale.
    """
    layers = list(maps_zero)
    height, width = image_rgb.shape[:2]
    panel_w = 4.0
    panel_h = panel_w * height / width
    fig, axes = plt.subplots(
        len(layers),
        3,
        figsize=(3 * panel_w + 1.2, len(layers) * (panel_h + 0.5) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for row, layer in enumerate(layers):
        vmax = float(max(maps_zero[layer].max(), maps_partial[layer].max())) or 1.0
        axes[row, 0].imshow(image_rgb)
        axes[row, 0].set_title("Image", fontsize=9)
        for col, (label, maps) in enumerate(
            (("zero padding", maps_zero), ("partial padding", maps_partial)), 1
        ):
            shown = axes[row, col].imshow(maps[layer], cmap=cmap, vmin=0.0, vmax=vmax)
            axes[row, col].set_title(f"{label}: {layer}", fontsize=9)
        fig.colorbar(shown, ax=axes[row, 1:], shrink=0.9, label="channel sum")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def render_activations(models, dataset, indices, layers, out_dir, *, device="cpu"):
    """Write <image>_activations.png (figure 5 layout) for each dataset index; return the PNG paths.

    models: {"zero": model, "partial": model}; layers: module names, or None for default_layers.
    """
    layers = layers or default_layers(models["zero"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index in indices:
        item = dataset[index]
        image = item["image"][None].to(device)
        maps = {key: activation_maps(model, image, layers) for key, model in models.items()}
        name = Path(item["name"]).name.replace("_leftImg8bit.png", "")
        fig = activation_figure(
            image_to_rgb(item["image"]),
            maps["zero"],
            maps["partial"],
            title=f"{name}: channel-summed ReLU activations, zero vs partial padding",
        )
        path = out_dir / f"{name}_activations.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
