"""DistributedDataParallel set-up under torchrun (or any launcher that sets RANK / WORLD_SIZE / LOCAL_RANK).

Contract: ``Distributed.from_environment(device)`` starts the process group when WORLD_SIZE > 1
(nccl when training on CUDA, gloo on CPU) and pins each process to cuda:LOCAL_RANK; without
WORLD_SIZE it is a single process and every collective is a no-op. Rank 0 is the main process:
only it validates, logs and writes checkpoints; the others wait at ``barrier`` and follow its
decisions through ``broadcast_flag`` / ``broadcast_ints``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

CPU = torch.device("cpu")


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = CPU

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls, device: str) -> Distributed:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        chosen = resolve_device(device, local_rank)
        if world_size <= 1:
            return cls(device=chosen)
        if not dist.is_available():
            raise RuntimeError("this PyTorch build has no torch.distributed: train in one process")
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
        return cls(dist.get_rank(), dist.get_world_size(), local_rank, chosen)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast_flag(self, value: bool) -> bool:
        """Rank 0's value of ``value`` on every rank."""
        return bool(self.broadcast_ints([int(value)])[0])

    def broadcast_ints(self, values: list[int]) -> list[int]:
        """Rank 0's ``values`` on every rank (one collective for several decisions)."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.int64, device=self.device)
        dist.broadcast(tensor, src=0)
        return [int(v) for v in tensor.tolist()]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise mean over all ranks."""
        if not self.enabled:
            return values
        values = values.to(self.device)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values / self.world_size

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """"auto": CUDA when available (one GPU per local rank), else CPU; "cuda" / "cuda:N" / "cpu" as given."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for, but PyTorch sees no CUDA GPU; use --device cpu")
    return torch.device(device)
