"""The acoustic runtime: a wav2vec2 CTC checkpoint loaded once and run on its device.

    model = load_model()                # resolve, load once per process, device and dtype
    logits = model.logits(clip)         # a 16 kHz `Clip` -> `Logits`

Modules, one job each: `loading` (load_model), `acoustic` (AcousticModel: windows,
frame grid, normalisation, the background swap to int8), `policy` (device, dtype,
batching), `networks` (where networks live, the forward pass on the device, ZeroGPU),
`checkpoints` (where a checkpoint comes from), `precision` (the CPU's precision),
`windows` (window arithmetic), `batching` (cross-request batches), `compiled`
(torch.compile buckets), `caches` (process caches, one `clear()`), `heap` (memory),
and int8 on ONNX Runtime: `int8` (cache, serving, export driver), `int8_export`,
`int8_graph`, `int8_checkpoint`.
"""

from .acoustic import AcousticModel
from .loading import load_model

__all__ = ["AcousticModel", "load_model"]
