"""int8 export, stage 1: the checkpoint's float32 ONNX graph, its weights streamed in.

The graph is traced on a network whose weights were never loaded, then the
checkpoint's tensors are copied into one external data file one at a time, so that
the stage holds the largest single tensor beside the graph, not the whole network
(docs/runtime.md has the memory this saves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .heap import peak_rss_mb
from .int8_checkpoint import CheckpointReader
from .int8_graph import external_tensor

OPSET = 17


def export_stage(model_dir: Path, path: Path) -> dict[str, Any]:
    """Stage 1: the checkpoint's graph in float32 (`export_float`), traced on a network
    whose weights were never loaded (uninitialised memory that the trace only reads, so
    it stays unallocated), then the checkpoint's weights copied one tensor at a time
    from its files into one external file beside `path` (`CheckpointReader`).
    The stage holds the largest single tensor beside the graph, never the whole
    network."""
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
            model.graph.initializer.append(external_tensor(data, data_name, array, value.name))
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.save(model, str(path))
    return {"peak_rss_mb": peak_rss_mb()}


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

    The exporter holds several copies of the weights it writes, so it writes none. No
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
