"""ssd_ros.datasets as torch datasets: images and targets in the form torchvision's SSD trains on.

Contract: item = (float image [3, H, W] in 0..1, {"boxes": [N, 4] XYXY pixels, "labels": int64 [N]
with 0 = background, so dataset class i is label i + 1}); difficult boxes are left out of
training targets. ``cache_images`` keeps the decoded images in memory (each DataLoader worker
holds its own copy), which pays off on small datasets trained for many epochs.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torchvision import tv_tensors

from ssd_ros.datasets import DatasetError, DetectionDataset


def read_rgb(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read image {path}: missing or not an image (run `ssd-ros dataset check`)")
    return image[:, :, ::-1].copy()


class TorchDetectionDataset(torch.utils.data.Dataset):
    def __init__(self, dataset: DetectionDataset, transforms, cache_images: bool = False) -> None:
        self.dataset = dataset
        self.transforms = transforms
        self._cache: dict[int, np.ndarray] | None = {} if cache_images else None

    def __len__(self) -> int:
        return len(self.dataset)

    def _image(self, index: int) -> np.ndarray:
        if self._cache is None:
            return read_rgb(self.dataset[index].image_path)
        if index not in self._cache:
            self._cache[index] = read_rgb(self.dataset[index].image_path)
        return self._cache[index]

    def __getitem__(self, index: int):
        annotation = self.dataset[index]
        image = self._image(index)
        height, width = image.shape[:2]
        keep = ~annotation.difficult
        target = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(annotation.boxes[keep]), format="XYXY",
                                              canvas_size=(height, width)),
            "labels": torch.from_numpy(annotation.class_indices[keep] + 1),
        }
        tensor = tv_tensors.Image(torch.from_numpy(image).permute(2, 0, 1))
        return self.transforms(tensor, target)


def collate(batch):
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
