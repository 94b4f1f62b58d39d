"""Images from users: files, NumPy arrays, PIL images and tensors turned into RGB uint8 arrays.

Conversions (documented in docs/prediction.md): a grayscale image is repeated into three
channels; an alpha channel is dropped (the colour is kept as stored, not blended); 16-bit
images are scaled to 8 bits. Anything else - an unreadable file, one channel count the model
cannot use, a float image outside [0, 1] - is a UserError naming the image and the fix.
"""
from pathlib import Path
from typing import Union

import cv2
import numpy as np
import torch
from PIL import Image

from seg.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from seg.utils.errors import UserError

ImageLike = Union[np.ndarray, Image.Image, torch.Tensor]


def read_image(path) -> np.ndarray:
    """Returns the (H, W, 3) uint8 RGB pixels of an image file (grayscale/RGBA/16-bit converted)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file; check the path")
    # cv2.imread returns None (no exception) for files it cannot decode; IMREAD_UNCHANGED keeps
    # 16-bit depth and alpha so that to_rgb converts them the documented way.
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise UserError(f"{path}: not an image OpenCV can read (PNG, JPEG, BMP, TIFF, WebP, ...); "
                        "convert it or leave it out")
    if array.ndim == 3 and array.shape[2] >= 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else
                             cv2.COLOR_BGR2RGB)
    return to_rgb(array, name=str(path))


def to_rgb(image: ImageLike, name: str = "image") -> np.ndarray:
    """Returns image as (H, W, 3) uint8 RGB.

    NumPy arrays are (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), uint8, uint16 or float in [0, 1];
    tensors are (3, H, W) or (1, H, W) (channels first, as torchvision) with the same dtypes;
    PIL images of any mode are converted by PIL.
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        if image.dim() != 3 or image.shape[0] not in (1, 3, 4):
            raise UserError(f"{name}: a tensor image must be (3, H, W) (or (1, H, W)), got shape "
                            f"{tuple(image.shape)}; permute it to channels first")
        image = image.detach().cpu().permute(1, 2, 0).numpy()
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)  # grayscale: the same value in R, G, B
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise UserError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape "
                        f"{array.shape}")
    array = array[:, :, :3]  # alpha dropped
    return np.ascontiguousarray(_to_uint8(array, name))


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array // 257).astype(np.uint8)  # 65535 -> 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise UserError(f"{name}: a float image must hold values in [0, 1], got "
                            f"{np.nanmin(array):.3g}..{np.nanmax(array):.3g}; divide by 255 or "
                            "pass uint8")
        return np.rint(array * 255).astype(np.uint8)
    raise UserError(f"{name}: unsupported pixel type {array.dtype}; pass uint8, uint16 or float "
                    "in [0, 1]")


def normalize(rgb: np.ndarray) -> torch.Tensor:
    """Returns the (3, H, W) float32 tensor the models take: RGB / 255, ImageNet mean and std."""
    image = torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (image - mean) / std
