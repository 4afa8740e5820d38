"""Camera frames to model input, and model-input pixels back to frame pixels.

Contract:
- input: uint8 H x W x 3 in "rgb" or "bgr" order (any strides; H, W > 0);
- ``preprocess`` returns the model input for one frame, [1, 3, h, w] (NCHW) or [1, h, w, 3]
  (NHWC), float32 normalised as (pixel - mean) / std, or raw uint8 when the model takes uint8,
  resized to the model's w x h by stretching or by letterboxing (aspect kept, padded with the
  mean colour so padding is zero after normalisation), and the ``FrameTransform`` that maps
  boxes back;
- ``FrameTransform.to_frame`` maps xyxy boxes in model-input pixels to frame pixels, clipped to the
  frame: x_frame = (x_model - pad_x) / scale_x.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ssd_ros.core.errors import ImageError
from ssd_ros.core.spec import InputSpec


@dataclass(frozen=True)
class FrameTransform:
    frame_width: int
    frame_height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        mapped = np.empty_like(boxes, dtype=np.float32)
        mapped[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        mapped[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(mapped[:, 0::2], 0, self.frame_width, out=mapped[:, 0::2])
        np.clip(mapped[:, 1::2], 0, self.frame_height, out=mapped[:, 1::2])
        return mapped


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"expected uint8 pixels, got {image.dtype}; convert with image.astype(np.uint8) "
                         "after scaling to 0..255")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"expected an H x W x 3 colour image, got shape {image.shape}; convert grey or "
                         "4-channel images to 3 channels first")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"empty image of shape {image.shape}")


class Preprocessor:
    """Pre-processing for one model input description; precomputes the normalisation constants."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self._mean = np.asarray(spec.mean, np.float32)
        self._inv_std = 1.0 / np.asarray(spec.std, np.float32)
        self._pad_colour = tuple(round(float(v)) for v in np.clip(spec.mean, 0, 255))

    def resize(self, image: np.ndarray, pad_colour: tuple[int, ...]) -> tuple[np.ndarray, FrameTransform]:
        height, width = image.shape[:2]
        target_w, target_h = self.spec.width, self.spec.height
        if image.strides[2] != 1 or image.strides[1] != 3:
            image = np.ascontiguousarray(image)  # OpenCV needs packed pixels (e.g. a view of RGBA)
        if self.spec.resize == "stretch":
            resized = image if (width, height) == (target_w, target_h) else cv2.resize(
                image, (target_w, target_h), interpolation=cv2.INTER_LINEAR)
            return resized, FrameTransform(width, height, target_w / width, target_h / height)
        scale = min(target_w / width, target_h / height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (target_w - new_w) // 2, (target_h - new_h) // 2
        canvas = np.empty((target_h, target_w, 3), np.uint8)
        canvas[:] = pad_colour
        canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = cv2.resize(image, (new_w, new_h),
                                                                      interpolation=cv2.INTER_LINEAR)
        return canvas, FrameTransform(width, height, new_w / width, new_h / height, pad_x, pad_y)

    def __call__(self, image: np.ndarray, color: str) -> tuple[np.ndarray, FrameTransform]:
        check_image(image)
        if color not in ("rgb", "bgr"):
            raise ImageError(f"color must be 'rgb' or 'bgr', got {color!r}")
        same_order = color == self.spec.color
        resized, transform = self.resize(image, self._pad_colour if same_order else self._pad_colour[::-1])
        height, width = self.spec.height, self.spec.width
        nchw = self.spec.layout == "NCHW"
        dtype = np.uint8 if self.spec.dtype == "uint8" else np.float32
        tensor = np.empty((1, 3, height, width) if nchw else (1, height, width, 3), dtype)
        # Channel by channel into the output layout: no float HxWx3 temporary, no transpose copy,
        # and the colour swap is just the choice of source channel.
        for channel in range(3):
            source = resized[:, :, channel if same_order else 2 - channel]
            target = tensor[0, channel] if nchw else tensor[0, :, :, channel]
            if dtype is np.uint8:
                target[...] = source
            else:
                np.subtract(source, self._mean[channel], out=target, dtype=np.float32)
                target *= self._inv_std[channel]
        return tensor, transform
