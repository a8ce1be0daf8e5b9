"""Kept for one release: int8 moved to `hyasr_space.runtime.int8` (cache, serving,
export driver), `runtime.int8_export`, `runtime.int8_graph` and
`runtime.int8_checkpoint`. Import those; this alias goes in the next release.
"""

from .runtime.int8 import (
    INFO_FILE,
    ONNX_FILE,
    QUANTIZED_OPS,
    RECIPE,
    OnnxCTC,
    available,
    cache_key,
    cached_model_path,
    export_int8,
    int8_model_path,
    is_cached,
    load_int8,
    weight_bits,
    weights_fingerprint,
)
from .runtime.int8_checkpoint import CheckpointReader
from .runtime.int8_export import OPSET, export_float, export_stage
from .runtime.int8_graph import MS_DOMAIN, fuse_attention, quantize

__all__ = [
    "INFO_FILE",
    "MS_DOMAIN",
    "ONNX_FILE",
    "OPSET",
    "QUANTIZED_OPS",
    "RECIPE",
    "CheckpointReader",
    "OnnxCTC",
    "available",
    "cache_key",
    "cached_model_path",
    "export_float",
    "export_int8",
    "export_stage",
    "fuse_attention",
    "int8_model_path",
    "is_cached",
    "load_int8",
    "quantize",
    "weight_bits",
    "weights_fingerprint",
]
