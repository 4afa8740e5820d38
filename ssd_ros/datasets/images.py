"""Image files of datasets: which suffixes count as images, and an image's size from its header.

``image_size`` reads only the file header (PIL opens lazily), so listing the sizes of thousands of
images is fast; it returns None for a missing or unreadable file instead of raising.
"""
from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the image file, or None when it is missing or not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None
