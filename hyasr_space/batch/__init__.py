"""`hyasr batch`: transcribe a corpus with Ray Data, on this machine or a Ray cluster.

    inputs.py, datasets.py   INPUT... -> items (files, manifest rows, data set rows)
    workers.py               how many workers each stage gets
    stages.py                read / acoustic model / decoders, the pipeline's stages
    pipeline.py              the Ray Data pipeline and the run
    output.py                DIR: Parquet parts, JSONL, subtitles, resuming
    summary.py               counts, failures, throughput, WER/CER

Ray is an optional dependency (the `batch` extra): nothing here imports it at module
level, and `ray_setup.require_ray` says how to install it.
"""

from .pipeline import BatchOptions, run_batch
from .ray_setup import INSTALL_HINT, RayMissingError, require_ray
from .summary import Summary

__all__ = ["INSTALL_HINT", "BatchOptions", "RayMissingError", "Summary", "require_ray", "run_batch"]
