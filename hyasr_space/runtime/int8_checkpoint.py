"""A checkpoint's tensors read one at a time, for the int8 export (int8_export.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


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
