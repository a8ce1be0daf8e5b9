"""How many workers each stage gets, and what each reserves from Ray.

Defaults come from the cluster's resources (`ray.cluster_resources()`):

- with GPUs: one acoustic worker per GPU (``num_gpus=1``, 8 clips a batch, their windows
  merged into GPU batches), the beam search on every CPU left but one, which reads;
- CPUs only: one acoustic worker per 8 cores, each with as many torch threads (one big
  process per network copy: the weights are held once per worker, and a matmul uses
  cores more efficiently than two processes splitting them), one decoder per 16 cores
  (the beam search costs 14-17 ms per 10 s of audio, docs/performance.md, against
  seconds for the network).

Ray schedules by logical reservations, not by threads. Where the stages' wishes exceed
the cluster's CPUs (two cores: a two-thread acoustic worker, a decoder and a reader),
the reservations are scaled down together so every stage can start: the cores are then
shared by the operating system, as they would be in one process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CPU_CORES_PER_ACOUSTIC = 8
CPU_CORES_PER_DECODER = 16
GPU_BATCH_ROWS = 8
READ_CPUS = 1.0


@dataclass(frozen=True)
class WorkerPlan:
    acoustic_workers: int
    acoustic_threads: int
    acoustic_cpus: float  # Ray reservation per acoustic actor
    acoustic_gpus: float
    acoustic_batch_rows: int
    decoder_workers: int
    decoder_cpus: float
    read_cpus: float  # per read task

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_workers(
    resources: dict[str, float],
    *,
    acoustic: int | None = None,
    decoders: int | None = None,
    threads: int | None = None,
    device: str = "auto",
) -> WorkerPlan:
    """The plan for a cluster with `resources`; each argument given overrides its default."""
    cpus = max(1.0, float(resources.get("CPU", 1.0)))
    gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
    if gpus:
        acoustic = acoustic or gpus
        decoders = decoders or max(1, int(cpus) - acoustic - 1)
        threads = threads or 1
        wants = acoustic * 1.0 + decoders + READ_CPUS
        scale = min(1.0, cpus / wants)
        return WorkerPlan(
            acoustic, threads, scale, 1.0, GPU_BATCH_ROWS, decoders, scale, READ_CPUS * scale
        )
    acoustic = acoustic or max(1, int(cpus) // CPU_CORES_PER_ACOUSTIC)
    decoders = decoders or max(1, int(cpus) // CPU_CORES_PER_DECODER)
    threads = threads or max(1, int(cpus) // acoustic)
    wants = acoustic * threads + decoders + READ_CPUS
    scale = min(1.0, cpus / wants)
    return WorkerPlan(
        acoustic, threads, threads * scale, 0.0, 1, decoders, scale, READ_CPUS * scale
    )
