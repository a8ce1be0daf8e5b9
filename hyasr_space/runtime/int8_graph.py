"""int8 export, stage 2: rewrite the float32 ONNX graph for ONNX Runtime's int8 kernels.

Each `MatMul` with a constant weight becomes one `DynamicQuantizeMatMul` on int8
weights (symmetric per output column; activations quantised per call by ONNX Runtime),
and each attention block one `MultiHeadAttention` node. The conv feature encoder, the
positional conv and layer norms stay float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .heap import peak_rss_mb

MS_DOMAIN = "com.microsoft"  # ONNX Runtime's contrib operators (DynamicQuantizeMatMul)


def external_tensor(data: Any, data_name: str, array: np.ndarray, name: str) -> Any:
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
                external_tensor(
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
        "peak_rss_mb": peak_rss_mb(),
    }


def fuse_attention(graph: Any, heads: int) -> int:
    """Replace each attention block the TorchScript exporter writes for wav2vec2 (reshape
    to heads, transposes, MatMul, scale, Softmax, MatMul, transpose, reshape back) with
    one ONNX Runtime `MultiHeadAttention` node on the 3-D q, k, v; returns how many.

    ONNX Runtime's own fusions do not recognise this block (docs/runtime.md has what
    fusing saves).
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
