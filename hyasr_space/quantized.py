"""int8 inference on the CPU: the checkpoint exported to ONNX, its matmuls quantised.

Served where `precision.py` says int8 pays (every x86-64 CPU with AVX2 measured so far),
or when ``HYASR_DTYPE=int8`` asks for it. Why ONNX Runtime rather than PyTorch's own
dynamic quantisation: on 2 AVX-512 VNNI vCPUs the XLS-R 1B architecture ran a 10 s clip
in 7.5-7.8 s in float32, 3.1 s with `torch.ao.quantization.quantize_dynamic` and
1.2-1.5 s with ONNX Runtime's int8 kernels; `benchmarks/speed.py` measures all three.

What is quantised: the weights of every `MatMul` with a constant right-hand side (the
transformer's linear layers and the output layer: 94 % of the FLOPs at 10 s), int8
symmetric per output column (7 bits on CPUs without VNNI/AMX, see precision.py), with
activations quantised dynamically (uint8) per call by ONNX Runtime's
`DynamicQuantizeMatMul`, the bias added in the same kernel. The conv feature encoder,
the positional conv and layer norms stay float32; attention's own products too, in one
`MultiHeadAttention` node per layer (`fuse_attention`).

The export runs once per checkpoint, in two child processes one after the other (the
serving process should not hold what exporting needs), and is cached on disk under
``Settings.cache_dir`` in a folder named by a hash of the weights, the library versions
and the recipe. It is built to stay small. Stage 1 traces the graph on a network whose
weights were never loaded (no weights in the exported graph, no constant folding, which
made a transposed copy of each), then copies the checkpoint's tensors one at a time
into one file; stage 2 (`quantize`) reads them back one at a time and appends the int8
ones to the int8 model's data file. ONNX Runtime's own `quantize_dynamic` holds the whole
float32 graph in memory: the export with it peaked at 12-13.7 GB for the 1B model, and
tracing the loaded network alone at 6.4 GB (README "Performance" has this one's
figures). The serving process then holds only the int8 model (a quarter of the float32
weights).

    python -m hyasr_space.quantized export MODEL_DIR OUT/model.fp32.onnx   # stage 1
    python -m hyasr_space.quantized quantize OUT/model.fp32.onnx OUT/model.int8.onnx --bits 8
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
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

log = logging.getLogger(__name__)

ONNX_FILE = "model.int8.onnx"
INFO_FILE = "export.json"
OPSET = 17
QUANTIZED_OPS = ("MatMul",)
# Bumped whenever the exported graph changes, so that older caches are not reused.
RECIPE = "streamed-dqmatmul-mha-8"
MS_DOMAIN = "com.microsoft"  # ONNX Runtime's contrib operators (DynamicQuantizeMatMul)
_HASH_CHUNK = 16 * 2**20
_BLOB_DIR = "blobs"  # huggingface_hub names cached files by their sha256 there
_PROTOBUF_LIMIT = 2**31 - 2**26  # one .onnx file holds < 2 GB; more goes to external data
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
        # Idle worker threads sleep instead of spinning: on 2 shared cores spinning took
        # CPU from everything else (the beam search, other requests, the export) for
        # nothing: 10 s of audio through the 1B model took 4.2 CPU s spinning and 2.9 s
        # not (25 -> 20 s of wall time on a machine loaded by other jobs).
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
    """`python -m hyasr_space.quantized STAGE ...` in a child process; its JSON result."""
    command = [sys.executable, "-m", "hyasr_space.quantized", stage, *arguments]
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


def _peak_rss_mb() -> float:
    """The largest this process has been (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def export_stage(model_dir: Path, path: Path) -> dict[str, Any]:
    """Stage 1: the checkpoint's graph in float32 (`export_float`), traced on a network
    whose weights were never loaded (uninitialised memory that the trace only reads, so
    it stays unallocated), then the checkpoint's weights copied one tensor at a time
    from its files into one external file beside `path` (`CheckpointReader`).

    Tracing the loaded 1B network peaked at 6.4 GB (its 3.9 GB of weights, the pages of
    the file they were mapped from, and the trace); this way the stage holds the
    largest single tensor beside the graph."""
    import onnx
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config.from_pretrained(model_dir)
    with torch.device("meta"):
        skeleton = Wav2Vec2ForCTC._from_config(config, attn_implementation="eager")
    network = _logits_only(skeleton.to_empty(device="cpu").eval())
    export_float(network, path)
    model = onnx.load(str(path))
    reader = CheckpointReader(model_dir)
    data_name = path.name + ".weights"
    inputs = []
    with (path.parent / data_name).open("wb") as data:
        for value in model.graph.input:
            if value.name == "input_values":
                inputs.append(value)
                continue
            array = reader.get(value.name.removeprefix("network."))
            model.graph.initializer.append(_external_tensor(data, data_name, array, value.name))
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.save(model, str(path))
    return {"peak_rss_mb": _peak_rss_mb()}


class CheckpointReader:
    """A checkpoint's tensors by name, as float32 arrays, one at a time.

    safetensors files are read with plain file reads at the offsets their header gives
    (a memory map would keep every page read so far in this process); pytorch `.bin`
    files (pickles, the seed checkpoint's format) are loaded whole, once. Old names of
    the weight-norm halves (`weight_g`, `weight_v`) are found under the new ones.
    """

    _RENAMES = {
        "parametrizations.weight.original0": "weight_g",
        "parametrizations.weight.original1": "weight_v",
    }
    _DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}

    def __init__(self, model_dir: Path) -> None:
        self._where: dict[str, tuple[Path, str, list[int], int, int]] = {}
        self._state: dict[str, Any] = {}
        for path in sorted(Path(model_dir).glob("model*.safetensors")):
            with path.open("rb") as handle:
                size = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(size))
            for name, entry in header.items():
                if name != "__metadata__":
                    start, end = entry["data_offsets"]
                    self._where[name] = (
                        path,
                        entry["dtype"],
                        entry["shape"],
                        8 + size + start,
                        end - start,
                    )
        if not self._where:
            import torch

            for path in sorted(Path(model_dir).glob("pytorch_model*.bin")):
                self._state.update(torch.load(path, map_location="cpu", weights_only=True))

    def get(self, name: str) -> np.ndarray:
        for key in (name, *(name.replace(new, old) for new, old in self._RENAMES.items())):
            if key in self._where:
                return self._read(*self._where[key])
            if key in self._state:
                return self._state[key].float().numpy()
        raise KeyError(f"{name} is not in the checkpoint")

    def _read(self, path: Path, dtype: str, shape: list[int], offset: int, length: int):
        with path.open("rb") as handle:
            handle.seek(offset)
            raw = handle.read(length)
        if dtype == "BF16":  # numpy has no bfloat16: widen the 16 bits to float32's top
            bits = np.frombuffer(raw, np.uint16).astype(np.uint32) << 16
            return bits.view(np.float32).reshape(shape)
        return np.frombuffer(raw, self._DTYPES[dtype]).astype(np.float32).reshape(shape)


def _external_tensor(data: Any, data_name: str, array: np.ndarray, name: str) -> Any:
    """A tensor whose bytes are appended to the open file `data` now (64-byte aligned,
    as ONNX Runtime maps them) and which the graph finds there by name and offset."""
    import onnx
    from onnx import helper

    data.write(b"\0" * (-data.tell() % 64))
    offset = data.tell()
    data.write(np.ascontiguousarray(array).tobytes())
    tensor = onnx.TensorProto(name=name, dims=array.shape)
    tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    for key, value in (("location", data_name), ("offset", offset), ("length", array.nbytes)):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)
    tensor.data_location = onnx.TensorProto.EXTERNAL
    return tensor


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
    """torch -> ONNX float32 graph (TorchScript exporter; batch and length dynamic) of a
    `_logits_only` module, its weights left out: they are graph inputs named as in its
    `state_dict()` (`export_stage` fills them in).

    The exporter holds several copies of the weights it writes (4.4 GB for a 1 GB
    checkpoint, 6.4 GB for the 4 GB one even with external data), so it writes none. No
    constant folding either: it would make a transposed copy of every linear layer's
    weight; `quantize` transposes them one at a time instead, and ONNX Runtime folds what
    is left (the positional conv's weight norm) at load.
    """
    import torch

    example = torch.zeros(1, 32_000)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=["input_values"],
            output_names=["logits"],
            dynamic_axes={
                "input_values": {0: "batch", 1: "samples"},
                "logits": {0: "batch", 1: "frames"},
            },
            opset_version=OPSET,
            do_constant_folding=False,
            dynamo=False,
            export_params=False,
            # and no merging of equal weights into one input: the traced network's
            # weights are uninitialised memory, and equal there means nothing
            keep_initializers_as_inputs=True,
        )


def quantize(source: Path, target: Path, bits: int = 8, heads: int = 0) -> dict[str, Any]:
    """Replace each `MatMul` by a constant weight (through a `Transpose` or not), and the
    bias `Add` after it, with one `DynamicQuantizeMatMul` on int8 weights, symmetric per
    output column with `bits` bits; every other tensor is copied as it is.

    Written here rather than taken from `onnxruntime.quantization.quantize_dynamic`
    because that holds the whole float32 graph in memory (and copies of it): this reads
    one weight at a time and appends its int8 version to `target`'s external data file,
    so it holds one weight at a time. The result is the graph ONNX Runtime itself fuses
    `quantize_dynamic`'s output into (DynamicQuantizeLinear + MatMulInteger + Cast + Mul
    + Add -> DynamicQuantizeMatMul) with its symmetric int8 weights; `bits=7` is its
    `reduce_range`. With `heads`, attention blocks become one node (`fuse_attention`).
    """
    import onnx
    from onnx import external_data_helper, helper, numpy_helper

    base = str(source.parent)
    model = onnx.load(str(source), load_external_data=False)
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def source_of(name: str) -> str:
        """The initializer behind `Identity` nodes (the exporter makes one for each weight
        equal to another, such as the all-zero biases of a freshly initialised model)."""
        while name not in initializers:
            node = producers.get(name)
            if node is None or node.op_type != "Identity":
                break
            name = node.input[0]
        return name

    def constant(name: str) -> np.ndarray | None:
        tensor = initializers.get(source_of(name))
        if tensor is None or tensor.data_type != onnx.TensorProto.FLOAT:
            return None
        return numpy_helper.to_array(tensor, base)

    def weight_of(name: str) -> tuple[np.ndarray, Any] | None:
        """The (K, N) matrix a MatMul multiplies by, and the Transpose it came through."""
        if name in initializers:
            array = constant(name)
            return (array, None) if array is not None and array.ndim == 2 else None
        node = producers.get(name)
        if node is None or node.op_type != "Transpose":
            return None
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), [1, 0])
        array = constant(node.input[0])
        if array is None or array.ndim != 2 or perm != [1, 0]:
            return None
        return np.ascontiguousarray(array.T), node

    data_name = target.name + ".data"
    qmax = 2 ** (bits - 1) - 1
    nodes, removed, added = [], set(), []
    with (target.parent / data_name).open("wb") as data:
        for node in graph.node:
            if id(node) in removed:
                continue
            found = weight_of(node.input[1]) if node.op_type == "MatMul" else None
            if found is None:
                nodes.append(node)
                continue
            weight, transpose = found
            scale = (np.abs(weight).max(axis=0) / qmax).astype(np.float32)
            scale[scale == 0] = 1.0  # an all-zero column: any scale gives zeros
            prefix = f"q{len(added)}"
            inputs = [node.input[0], f"{prefix}.weight", f"{prefix}.scale", f"{prefix}.zero"]
            tensors = [
                _external_tensor(
                    data,
                    data_name,
                    np.clip(np.rint(weight / scale), -qmax, qmax).astype(np.int8),
                    inputs[1],
                ),
                numpy_helper.from_array(scale, inputs[2]),
                numpy_helper.from_array(np.zeros(len(scale), np.int8), inputs[3]),
            ]
            output = node.output[0]
            bias_add = _bias_add(output, consumers, constant, weight.shape[1])
            if bias_add is not None:
                add, bias = bias_add
                inputs.append(f"{prefix}.bias")
                tensors.append(numpy_helper.from_array(bias, inputs[4]))
                output = add.output[0]
                removed.add(id(add))
            if transpose is not None and len(consumers[transpose.output[0]]) == 1:
                removed.add(id(transpose))
            nodes.append(
                helper.make_node(
                    "DynamicQuantizeMatMul", inputs, [output], f"{prefix}.matmul", domain=MS_DOMAIN
                )
            )
            added.append(tensors)
            del weight
    kept = [node for node in nodes if id(node) not in removed]
    del graph.node[:]
    graph.node.extend(_without_dead_nodes(kept, {out.name for out in graph.output}))
    fused = fuse_attention(graph, heads) if heads else 0
    used = {name for node in graph.node for name in node.input}
    keep = [tensor for tensor in graph.initializer if tensor.name in used]
    for tensor in keep:  # the float32 ones left (convolutions, norms): small
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            external_data_helper.load_external_data_for_tensor(tensor, base)
    keep = [onnx.TensorProto.FromString(t.SerializeToString()) for t in keep]
    del graph.initializer[:]
    graph.initializer.extend(keep + [tensor for tensors in added for tensor in tensors])
    model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    onnx.save(model, str(target))
    int8_mb = (target.parent / data_name).stat().st_size / 2**20
    return {
        "matmuls": len(added),
        "attention_fused": fused,
        "int8_mb": round(int8_mb, 1),
        "peak_rss_mb": _peak_rss_mb(),
    }


def fuse_attention(graph: Any, heads: int) -> int:
    """Replace each attention block the TorchScript exporter writes for wav2vec2 (reshape
    to heads, transposes, MatMul, scale, Softmax, MatMul, transpose, reshape back) with
    one ONNX Runtime `MultiHeadAttention` node on the 3-D q, k, v; returns how many.

    ONNX Runtime's own fusions do not recognise this block. Fused, the 12-layer XLS-R
    cut took 20 % less CPU time on a 30 s window and 4 % less on a 10 s clip (the
    transposes and the two float32 products were a third of the int8 model's time).
    """
    from onnx import helper, numpy_helper

    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {t.name: t for t in graph.initializer}

    def op(name: str, kind: str, perm: list[int] | None = None):
        node = producers.get(name)
        if node is None or node.op_type != kind:
            return None
        if perm is not None:
            got = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            if got != perm:
                return None
        return node

    def only_user(name: str, kind: str, perm: list[int] | None = None):
        users = consumers.get(name, [])
        if len(users) != 1:
            return None
        return op(users[0].output[0], kind, perm) if users[0].op_type == kind else None

    def scalar(name: str) -> float | None:
        node = producers.get(name)
        if node is not None and node.op_type == "Constant":
            value = numpy_helper.to_array(node.attribute[0].t)
        elif name in constants:
            value = numpy_helper.to_array(constants[name])
        else:
            return None
        return float(value) if value.size == 1 else None

    removed, added = set(), []
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        mul = op(softmax.input[0], "Mul")
        if mul is None:
            continue
        scale = scalar(mul.input[1])
        first = op(mul.input[0], "MatMul")
        if scale is None or first is None:
            continue
        q_t = op(first.input[0], "Transpose", [0, 2, 1, 3])
        k_t = op(first.input[1], "Transpose", [0, 2, 3, 1])
        second = only_user(softmax.output[0], "MatMul")
        if q_t is None or k_t is None or second is None or second.input[0] != softmax.output[0]:
            continue
        v_t = op(second.input[1], "Transpose", [0, 2, 1, 3])
        out_t = only_user(second.output[0], "Transpose", [0, 2, 1, 3])
        out_r = out_t and only_user(out_t.output[0], "Reshape")
        q_r, k_r = op(q_t.input[0], "Reshape"), op(k_t.input[0], "Reshape")
        v_r = v_t and op(v_t.input[0], "Reshape")
        if None in (v_t, out_t, out_r, q_r, k_r, v_r):
            continue
        block = (q_r, k_r, v_r, q_t, k_t, v_t, first, mul, softmax, second, out_t, out_r)
        removed.update(id(n) for n in block)
        added.append(
            (
                out_r,
                helper.make_node(
                    "MultiHeadAttention",
                    [q_r.input[0], k_r.input[0], v_r.input[0]],
                    [out_r.output[0]],
                    f"{softmax.name or 'attention'}.fused",
                    domain=MS_DOMAIN,
                    num_heads=heads,
                    scale=scale,
                ),
            )
        )
    replacement = {id(anchor): node for anchor, node in added}
    nodes = []
    for node in graph.node:
        if id(node) in replacement:
            nodes.append(replacement[id(node)])
        elif id(node) not in removed:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(_without_dead_nodes(nodes, {out.name for out in graph.output}))
    return len(added)


def _without_dead_nodes(nodes: list[Any], outputs: set[str]) -> list[Any]:
    """`nodes` less those whose results nothing uses (the fused blocks' shape arithmetic
    and constants, which ONNX Runtime would otherwise drop with a warning each)."""
    while True:
        used = outputs | {name for node in nodes for name in node.input}
        alive = [node for node in nodes if any(out in used for out in node.output)]
        if len(alive) == len(nodes):
            return alive
        nodes = alive


def _bias_add(
    output: str, consumers: dict[str, list[Any]], constant: Any, columns: int
) -> tuple[Any, np.ndarray] | None:
    """The `Add` of a constant bias of `columns` values that alone consumes `output`."""
    users = consumers.get(output, [])
    if len(users) != 1 or users[0].op_type != "Add":
        return None
    add = users[0]
    other = add.input[1] if add.input[0] == output else add.input[0]
    bias = constant(other)
    if bias is None or bias.shape != (columns,):
        return None
    return add, bias.astype(np.float32)


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
        result = export_stage(args.model_dir, args.target)
    else:
        result = quantize(args.source, args.target, args.bits, args.heads)
    print(json.dumps(result))  # the last line: what the parent reads
    return 0


if __name__ == "__main__":
    sys.exit(main())
