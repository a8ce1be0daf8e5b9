"""int8 inference on the CPU: the checkpoint exported to ONNX, its matmuls quantised.

Served where precision.py says int8 pays, or when ``HYASR_DTYPE=int8`` asks for it.
`OnnxCTC` runs the exported model with ONNX Runtime in place of the torch network.

The export runs once per checkpoint, in two child processes one after the other (the
serving process should not hold what exporting needs): stage 1 (int8_export.py) traces
the float32 graph and copies the checkpoint's tensors into it one at a time
(int8_checkpoint.py); stage 2 (int8_graph.py) quantises the matmuls and fuses attention.
The result is cached under ``Settings.cache_dir`` in a folder named by a hash of the
weights, the library versions and the recipe. docs/runtime.md says why ONNX Runtime and
what the export costs.

    python -m hyasr_space.runtime.int8 export MODEL_DIR OUT/model.fp32.onnx   # stage 1
    python -m hyasr_space.runtime.int8 quantize OUT/model.fp32.onnx OUT/model.int8.onnx --bits 8
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
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .caches import Registry
from .int8_export import OPSET

log = logging.getLogger(__name__)

ONNX_FILE = "model.int8.onnx"
INFO_FILE = "export.json"
QUANTIZED_OPS = ("MatMul",)
# Bumped whenever the exported graph changes, so that older caches are not reused.
RECIPE = "streamed-dqmatmul-mha-8"
_HASH_CHUNK = 16 * 2**20
_BLOB_DIR = "blobs"  # huggingface_hub names cached files by their sha256 there
# One exporter per cache folder in this process; other processes race to a rename.
_EXPORT_LOCKS: Registry[Path, threading.Lock] = Registry("int8 export locks")


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
        # Idle worker threads sleep instead of spinning: spinning takes CPU from
        # everything else (the beam search, other requests, the export) for nothing
        # (docs/runtime.md, "int8 on the CPU").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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


def weight_bits() -> int:
    """8, or 7 on CPUs whose int8 kernels would saturate with 8-bit weights (precision.py)."""
    from .precision import CpuFeatures, int8_weight_bits

    return int8_weight_bits(CpuFeatures.detect())


def cache_key(model_dir: Path, bits: int | None = None) -> str:
    """The cache folder name: weights, library versions and the quantisation recipe."""
    import onnx
    import onnxruntime
    import torch
    import transformers

    recipe = {
        "weights": weights_fingerprint(model_dir),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opset": OPSET,
        "ops": QUANTIZED_OPS,
        "recipe": RECIPE,
        "bits": bits or weight_bits(),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]


def cached_model_path(model_dir: Path, cache_dir: Path, bits: int | None = None) -> Path:
    """Where the int8 model of a checkpoint is (or will be) cached."""
    return Path(cache_dir).expanduser() / "int8" / cache_key(model_dir, bits) / ONNX_FILE


def is_cached(model_dir: Path, cache_dir: Path) -> bool:
    """True when the int8 model of this checkpoint is ready to load."""
    return cached_model_path(model_dir, cache_dir).is_file()


def int8_model_path(model_dir: Path, cache_dir: Path, *, background: bool = False) -> Path:
    """The quantised model of a checkpoint, exported (in child processes) when not cached.

    `background` runs the children at a lower CPU priority, so that requests served
    meanwhile keep the cores they need. Raises `RuntimeError` when the export fails.
    """
    bits = weight_bits()
    path = cached_model_path(model_dir, cache_dir, bits)
    folder = path.parent
    with _EXPORT_LOCKS.get_or_create(folder, threading.Lock):
        if path.is_file():
            return path
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="export-", dir=folder.parent))
        log.info("exporting %s to int8 ONNX (once per checkpoint) in %s", model_dir, folder)
        try:
            export_int8(model_dir, staging, bits, background=background)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            staging.rename(folder)  # atomic: another process's finished export is as good
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return path


def load_int8(
    model_dir: Path, cache_dir: Path, threads: int | None = None, *, background: bool = False
) -> OnnxCTC:
    """The checkpoint as an `OnnxCTC` running the cached int8 model (exported first when
    it is not cached; see `int8_model_path`)."""
    from transformers import Wav2Vec2Config

    config = Wav2Vec2Config.from_pretrained(model_dir)
    path = int8_model_path(model_dir, cache_dir, background=background)
    return OnnxCTC(path, config, threads)


def export_int8(
    model_dir: Path, out_dir: Path, bits: int = 8, *, background: bool = False
) -> dict[str, Any]:
    """Export a Hub-layout checkpoint to int8 ONNX in `out_dir`, in two child processes
    run one after the other: torch -> float32 ONNX (weights in external files), then
    `quantize`. Two processes, because what torch held is only surely gone when its
    process is; the export's peak is the larger of the two. Returns (and writes to
    `INFO_FILE`) each stage's time and peak RSS. Raises `RuntimeError` when one fails."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"source": str(model_dir), "recipe": RECIPE, "bits": bits}
    with tempfile.TemporaryDirectory(prefix="fp32-", dir=out_dir) as work:
        fp32 = Path(work) / "model.fp32.onnx"
        stages = (
            ("export", [str(model_dir), str(fp32)]),
            (
                "quantize",
                [
                    str(fp32),
                    str(out_dir / ONNX_FILE),
                    "--bits",
                    str(bits),
                    "--heads",
                    str(_attention_heads(model_dir)),
                ],
            ),
        )
        for stage, arguments in stages:
            started = time.perf_counter()
            result = _run_stage(stage, arguments, background)
            info[f"{stage}_s"] = round(time.perf_counter() - started, 1)
            info[f"{stage}_peak_rss_mb"] = result.pop("peak_rss_mb")
            info.update(result)
    info["peak_rss_mb"] = max(info["export_peak_rss_mb"], info["quantize_peak_rss_mb"])
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def _attention_heads(model_dir: Path) -> int:
    """The checkpoint's attention heads (config.json), 0 when it does not say."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return int(config.get("num_attention_heads", 0))


def _run_stage(stage: str, arguments: list[str], background: bool) -> dict[str, Any]:
    """`python -m hyasr_space.runtime.int8 STAGE ...` in a child process; its JSON result."""
    command = [sys.executable, "-m", "hyasr_space.runtime.int8", stage, *arguments]
    command += ["--parent-pid", str(os.getpid())]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if background:
        try:
            os.setpriority(os.PRIO_PROCESS, child.pid, 10)
        except (AttributeError, OSError):  # not on this OS, or already gone
            pass
    output, _ = child.communicate()
    lines = output.strip().splitlines()
    if child.returncode == 0 and lines:
        try:
            return json.loads(lines[-1])
        except ValueError:
            pass
    tail = " | ".join(lines[-5:]) or f"exit status {child.returncode}"
    raise RuntimeError(f"int8 export failed ({stage}): {tail}")


def _exit_with_parent(parent: int) -> None:
    """Stop the export when the process that asked for it has gone (no orphan holding
    gigabytes of memory after an app or a command exits)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """The export's two stages, each run as its own child process by `export_int8`."""
    parser = argparse.ArgumentParser(description="Export a wav2vec2 CTC checkpoint to int8 ONNX.")
    stages = parser.add_subparsers(dest="stage", required=True)
    export = stages.add_parser("export", help="checkpoint -> float32 ONNX (external weights)")
    export.add_argument("model_dir", type=Path)
    export.add_argument("target", type=Path)
    quantise = stages.add_parser("quantize", help="float32 ONNX -> int8 ONNX")
    quantise.add_argument("source", type=Path)
    quantise.add_argument("target", type=Path)
    quantise.add_argument("--bits", type=int, default=8, choices=(7, 8))
    quantise.add_argument("--heads", type=int, default=0, help="fuse attention (0: do not)")
    for stage in (export, quantise):
        stage.add_argument("--parent-pid", type=int, default=None, help="exit when it exits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)
    if args.stage == "export":
        from .int8_export import export_stage

        result = export_stage(args.model_dir, args.target)
    else:
        from .int8_graph import quantize

        result = quantize(args.source, args.target, args.bits, args.heads)
    print(json.dumps(result))  # the last line: what the parent reads
    return 0


if __name__ == "__main__":
    sys.exit(main())
