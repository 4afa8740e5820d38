"""The loss we train with (torchvision's SSD MultiBox loss) mines exactly 3 hard negatives per positive.

Counted from gradients of the real training forward: an anchor takes part in the classification
loss iff its class logits get a gradient, and it is a positive iff its box offsets get one (the
box loss covers positives only). The chosen negatives must also be the hardest: no negative left
out has a higher cross-entropy than one that was chosen.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ssd_ros_training.models import ModelConfig, build_model  # noqa: E402
from torchvision_reference import random_ssd  # noqa: E402

from ssd_ros.synthetic import CLASSES, render_scene  # noqa: E402


def test_classification_loss_uses_three_hardest_negatives_per_positive():
    num_classes = len(CLASSES) + 1
    model = build_model(ModelConfig(width_mult=0.5), num_classes)
    # weights with spread-out logits: torchvision's init gives near-equal losses everywhere
    model.load_state_dict(random_ssd("ssdlite320", num_classes, seed=0, width_mult=0.5).state_dict())
    model.train()
    rng = np.random.default_rng(7)
    images, targets = [], []
    for _ in range(2):
        image, objects = render_scene(rng, 320, 320)
        images.append(torch.from_numpy(image).permute(2, 0, 1).float() / 255)
        targets.append({"boxes": torch.tensor([o[1:] for o in objects], dtype=torch.float32),
                        "labels": torch.tensor([CLASSES.index(o[0]) + 1 for o in objects])})
    outputs = {}

    def keep_head_outputs(_module, _inputs, result):
        for value in result.values():
            value.retain_grad()
        outputs.update(result)

    model.head.register_forward_hook(keep_head_outputs)
    losses = model(images, targets)
    (losses["classification"] + losses["bbox_regression"]).backward()

    logits = outputs["cls_logits"].detach()
    in_classification = outputs["cls_logits"].grad.abs().sum(-1) > 0  # [images, anchors]
    positive = outputs["bbox_regression"].grad.abs().sum(-1) > 0
    cross_entropy = torch.logsumexp(logits, -1) - logits[..., 0]  # loss of an anchor whose target is background
    for image in range(len(images)):
        positives = int(positive[image].sum())
        negatives = in_classification[image] & ~positive[image]
        assert positives >= len(targets[image]["boxes"])  # every object has at least one matched anchor
        assert int(negatives.sum()) == 3 * positives
        assert bool((in_classification[image] | ~positive[image]).all())  # positives are classified too
        chosen = cross_entropy[image][negatives]
        left_out = cross_entropy[image][~negatives & ~positive[image]]
        assert float(chosen.min()) >= float(left_out.max())
