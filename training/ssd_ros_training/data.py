"""ssd_ros.datasets as torch datasets: images and targets in the form torchvision's SSD trains on.

Contract: item = (float image [3, H, W] in 0..1, {"boxes": [N, 4] XYXY pixels, "labels": int64 [N]
with 0 = background, so dataset class i is label i + 1}); difficult boxes are left out of
training targets.
"""
from __future__ import annotations

import cv2
import torch
from torchvision import tv_tensors

from ssd_ros.datasets import DatasetError, DetectionDataset


class TorchDetectionDataset(torch.utils.data.Dataset):
    def __init__(self, dataset: DetectionDataset, transforms) -> None:
        self.dataset = dataset
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        annotation = self.dataset[index]
        image = cv2.imread(str(annotation.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"cannot read image {annotation.image_path}")
        height, width = image.shape[:2]
        keep = ~annotation.difficult
        target = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(annotation.boxes[keep]), format="XYXY",
                                              canvas_size=(height, width)),
            "labels": torch.from_numpy(annotation.class_indices[keep] + 1),
        }
        tensor = tv_tensors.Image(torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1))
        return self.transforms(tensor, target)


def collate(batch):
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
