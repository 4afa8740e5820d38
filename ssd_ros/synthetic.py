"""Synthetic detection scenes: coloured, textured shapes on cluttered backgrounds.

Contract: ``render_scene(rng, width, height)`` returns an RGB uint8 H x W x 3 image and its objects
as (class name, x1, y1, x2, y2) in pixels (the full extent of each shape; shapes may be partly
hidden behind later ones, never by more than about a third). numpy and OpenCV only: the training
package writes datasets of these scenes (``ssd-ros synth``) and the demo's camera renders them live.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle", "star")


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A gradient, low-frequency texture, noise and clutter (lines, faint blobs)."""
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1))
    coarse = rng.normal(0, rng.uniform(5, 35), (max(2, height // 40), max(2, width // 40), 3))
    image += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, rng.uniform(2, 10), image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(3, 12)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(image, start, end, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    for _ in range(rng.integers(0, 5)):  # soft distractor blobs: not objects
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(5, width // 6)), int(rng.integers(5, height // 6)))
        overlay = image.copy()
        cv2.ellipse(overlay, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    tuple(int(c) for c in rng.integers(0, 256, 3)), -1, cv2.LINE_AA)
        image = np.asarray(cv2.addWeighted(overlay, 0.35, image, 0.65, 0), dtype=image.dtype)
    return image


def _shape_polygon(kind: str, centre: np.ndarray, size: float, angle: float) -> np.ndarray:
    if kind == "square":
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * size / 2
    elif kind == "triangle":
        corners = np.array([[math.cos(a), math.sin(a)] for a in np.deg2rad([-90, 30, 150])]) * size / 2
    else:  # star: 5 points, inner radius 0.45
        radii = np.tile([1.0, 0.45], 5) * size / 2
        angles = np.deg2rad(np.arange(10) * 36 - 90)
        corners = np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return corners @ rotation.T + centre


def _fill_texture(rng: np.random.Generator, mask: np.ndarray, image: np.ndarray) -> None:
    """Paint the masked pixels with a saturated colour, plain, striped or speckled."""
    hsv = np.array([[[rng.integers(0, 180), rng.integers(150, 256), rng.integers(120, 256)]]], dtype=np.uint8)
    colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(float)
    height, width = mask.shape
    style = rng.integers(0, 3)
    if style == 0:
        fill = np.broadcast_to(colour, (height, width, 3)).astype(float)
    elif style == 1:
        period, phase = rng.uniform(4, 12), rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:height, 0:width]
        direction = rng.uniform(0, math.pi)
        stripes = (np.sin((xx * math.cos(direction) + yy * math.sin(direction)) / period * 2 * math.pi + phase) > 0)
        fill = np.where(stripes[..., None], colour, colour * 0.55)
    else:
        fill = colour * rng.uniform(0.7, 1.15, (height, width, 1))
    image[mask] = np.clip(fill[mask], 0, 255).astype(np.uint8)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    overlap_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    overlap_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = overlap_w * overlap_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def render_scene(rng: np.random.Generator, width: int = 320, height: int = 240,
                 max_objects: int = 6) -> tuple[np.ndarray, list[tuple[str, float, float, float, float]]]:
    image = _background(rng, width, height)
    objects: list[tuple[str, float, float, float, float]] = []
    scale = min(width, height)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind = CLASSES[int(rng.integers(0, len(CLASSES)))]
        size = float(rng.uniform(0.1, 0.45)) * scale
        centre = rng.uniform([size / 2, size / 2], [width - size / 2, height - size / 2])
        mask = np.zeros((height, width), np.uint8)
        if kind == "circle":
            cv2.circle(mask, (int(centre[0]), int(centre[1])), int(size / 2), 1, -1, cv2.LINE_AA)
        else:
            polygon = _shape_polygon(kind, centre, size, float(rng.uniform(0, 2 * math.pi)))
            cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1, cv2.LINE_AA)
        ys, xs = np.nonzero(mask)
        if len(xs) < 20:
            continue
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        if any(_iou(box, other[1:]) > 0.3 for other in objects):
            continue  # keep occlusion partial so every object stays recognisable
        _fill_texture(rng, mask.astype(bool), image)
        objects.append((kind, *box))
    return image, objects
