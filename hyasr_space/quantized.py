"""int8 inference on the CPU: the checkpoint exported to ONNX, its matmuls quantised.

Selected with ``HYASR_DTYPE=int8`` (used on the CPU only; on a GPU it means the GPU's
default dtype). Why ONNX Runtime rather than PyTorch's own dynamic quantisation: on the
2-vCPU AVX-512 machine the XLS-R 1B architecture ran a 10 s clip in 7.5-7.8 s in float32,
3.1 s with `torch.ao.quantization.quantize_dynamic` and 1.2-1.5 s with ONNX Runtime's
int8 kernels (VNNI); `benchmarks/speed.py` measures all three.

What is quantised: the weights of every `MatMul` with a constant right-hand side (the
transformer's linear layers and the output layer: 94 % of the FLOPs at 10 s), int8 per
output channel, with activations quantised dynamically (uint8) per call. The conv
feature encoder, the positional conv, layer norms and attention's own matmuls stay
float32.

The quantised model is built once per checkpoint, in a child process (exporting a 1B
model needs about twice its float32 size in memory, which the serving process should not
keep), and cached on disk under ``Settings.cache_dir`` in a folder named by a hash of
the weights, the library versions and the quantisation options. The serving process then
holds only the int8 model (about a quarter of the float32 weights) and never loads the
float32 network at all.

    python -m hyasr_space.quantized MODEL_DIR OUT_DIR     # what the child process runs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ONNX_FILE = "model.int8.onnx"
INFO_FILE = "export.json"
OPSET = 17
QUANTIZED_OPS = ("MatMul",)
PER_CHANNEL = True
_HASH_CHUNK = 16 * 2**20
_BLOB_DIR = "blobs"  # huggingface_hub names cached files by their sha256 there


class OnnxCTC:
    """A wav2vec2 CTC network run by ONNX Runtime: `run_numpy(values, mask) -> logits`.

    It stands in for the torch network inside `AcousticModel` (which reads only
    `config`). The graph takes unpadded input only (no attention mask), so a padded batch
    runs item by item; the model's windows of one clip are all the same length anyway.
    """

    def __init__(self, path: Path, config: Any, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or _cpu_count()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.config = config
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def run_numpy(self, input_values: np.ndarray, attention_mask: np.ndarray | None) -> np.ndarray:
        values = np.ascontiguousarray(input_values, dtype=np.float32)
        if attention_mask is None or bool(np.all(attention_mask)):
            return self.session.run(["logits"], {"input_values": values})[0]
        lengths = attention_mask.sum(axis=1).astype(int)
        outputs = [
            self.session.run(["logits"], {"input_values": row[None, :length]})[0][0]
            for row, length in zip(values, lengths, strict=True)
        ]
        frames = max(len(output) for output in outputs)
        batch = np.zeros((len(outputs), frames, outputs[0].shape[1]), np.float32)
        for index, output in enumerate(outputs):
            batch[index, : len(output)] = output
        return batch


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available() -> bool:
    """True when onnxruntime and onnx are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def weights_fingerprint(model_dir: Path) -> str:
    """A hash naming the checkpoint's weights: the Hub's own sha256 for cached Hub files
    (the blob's name), else a sha256 of the files' bytes."""
    digest = hashlib.sha256()
    names = sorted(
        p.name for p in model_dir.iterdir() if p.name.startswith(("model", "pytorch_model"))
    )
    for name in names + ["config.json"]:
        path = model_dir / name
        if not path.is_file():
            continue
        digest.update(name.encode())
        real = path.resolve()
        if real.parent.name == _BLOB_DIR and len(real.name) == 64:
            digest.update(real.name.encode())
            continue
        with real.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def cache_key(model_dir: Path) -> str:
    """The cache folder name: weights, library versions and quantisation options."""
    import onnxruntime
    import torch
    import transformers

    recipe = {
        "weights": weights_fingerprint(model_dir),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opset": OPSET,
        "ops": QUANTIZED_OPS,
        "per_channel": PER_CHANNEL,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]


def int8_model_path(model_dir: Path, cache_dir: Path) -> Path:
    """The quantised model of a checkpoint, exported (in a child process) when not cached.

    Raises `RuntimeError` when the export fails.
    """
    folder = Path(cache_dir).expanduser() / "int8" / cache_key(model_dir)
    path = folder / ONNX_FILE
    if path.is_file():
        return path
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="export-", dir=folder.parent))
    log.info("exporting %s to int8 ONNX (once per checkpoint) in %s", model_dir, folder)
    command = [sys.executable, "-m", "hyasr_space.quantized", str(model_dir), str(staging)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not (staging / ONNX_FILE).is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"int8 export of {model_dir} failed: {' | '.join(tail)}")
    try:
        staging.rename(folder)  # atomic: a concurrent exporter's result is as good
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_int8(model_dir: Path, cache_dir: Path, threads: int | None = None) -> OnnxCTC:
    """The checkpoint as an `OnnxCTC` running the cached int8 model."""
    from transformers import Wav2Vec2Config

    config = Wav2Vec2Config.from_pretrained(model_dir)
    return OnnxCTC(int8_model_path(model_dir, cache_dir), config, threads)


def export_int8(model_dir: Path, out_dir: Path, quantize_ops: tuple[str, ...] = QUANTIZED_OPS):
    """Export a Hub-layout checkpoint to ONNX (float32) and quantise it into `out_dir`."""
    import torch
    from transformers import Wav2Vec2ForCTC

    out_dir.mkdir(parents=True, exist_ok=True)
    network = Wav2Vec2ForCTC.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        fp32 = Path(work) / "model.fp32.onnx"
        export_float(network, fp32)
        del network
        quantize(fp32, out_dir / ONNX_FILE, quantize_ops)
    info = {"source": str(model_dir), "ops": list(quantize_ops), "per_channel": PER_CHANNEL}
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")


def _logits_only(network: Any) -> Any:
    """The network as a module with one input and one output, for the exported graph."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_values: torch.Tensor) -> torch.Tensor:
            return self.network(input_values).logits

    return LogitsOnly().eval()


def export_float(network: Any, path: Path) -> None:
    """torch -> ONNX float32 (TorchScript exporter; batch and length dynamic).

    Weights over 2 GB go to external data files beside `path`.
    """
    import torch

    example = torch.zeros(1, 32_000)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            _logits_only(network),
            (example,),
            str(path),
            input_names=["input_values"],
            output_names=["logits"],
            dynamic_axes={
                "input_values": {0: "batch", 1: "samples"},
                "logits": {0: "batch", 1: "frames"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def quantize(source: Path, target: Path, ops: tuple[str, ...] = QUANTIZED_OPS) -> None:
    """ONNX Runtime dynamic quantisation: int8 weights per channel, uint8 activations."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        op_types_to_quantize=list(ops),
        per_channel=PER_CHANNEL,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        use_external_data_format=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a wav2vec2 CTC checkpoint to int8 ONNX.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--ops", nargs="+", default=list(QUANTIZED_OPS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    export_int8(args.model_dir, args.out_dir, tuple(args.ops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
