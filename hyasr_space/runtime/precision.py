"""Which precision serves on this machine: the CPU's instruction sets, and what they pick.

`HYASR_DTYPE=auto` (the default) means bf16 (fp16 without bf16) on a GPU. On a CPU it
means the fastest path that keeps the transcripts, by what the CPU has.
`CpuFeatures.detect()` reads that once; `cpu_precision` decides:

| the CPU has                               | serves                | until it is ready  |
| ----------------------------------------- | --------------------- | ------------------ |
| x86-64 with AVX2, onnxruntime installed   | int8 (int8.py)        | bf16 if native, else float32 |
| native bf16 (AVX512-BF16, AMX), no onnxruntime | bf16             | -                  |
| anything else (ARM, no AVX2)              | float32               | -                  |

Where int8 dot-product instructions are missing (AVX2 only: `vpmaddubsw` adds pairs of
u8 x s8 products in int16, which saturates), the weights are quantised to 7 bits (ONNX
Runtime's `reduce_range`) so that no pair can overflow. While the int8 model is exported
the app serves at once in bf16 where the CPU has it natively and in float32 elsewhere
(emulated bf16 is slower than float32). docs/runtime.md ("Precision") has the speeds.

Models under `Settings.low_precision_min_mb` of weights (the bundled demo model, the
test suite's tone model) stay float32 when nothing is asked for: their card's figures
are float32's, and on them a second precision would only add an export and a switch.
`HYASR_DTYPE` overrides all of this.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

# /proc/cpuinfo flag -> the name people know it by, in the order they are shown
_NAMES = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512",
    "avx_vnni": "AVX-VNNI",
    "avx512_vnni": "AVX-512 VNNI",
    "avx512_bf16": "AVX512-BF16",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
}
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
X86_64 = frozenset({"x86_64", "amd64"})

INT8 = "int8"
BFLOAT16 = "bfloat16"
FLOAT32 = "float32"


@dataclass(frozen=True)
class CpuFeatures:
    """What a CPU offers the model: its instruction-set flags (as /proc/cpuinfo names
    them), the kernels torch runs (`torch.backends.cpu.get_cpu_capability()`, which
    follows ATEN_CPU_CAPABILITY) and the architecture. Tests build their own."""

    flags: frozenset[str] = frozenset()
    torch_capability: str = "DEFAULT"
    machine: str = "x86_64"

    @classmethod
    def detect(cls) -> CpuFeatures:
        """This machine's features (read once per process)."""
        return _detect()

    @property
    def x86_64(self) -> bool:
        return self.machine.lower() in X86_64

    @property
    def avx2(self) -> bool:
        return self.x86_64 and "avx2" in self.flags

    @property
    def int8_dot(self) -> bool:
        """u8 x s8 dot products accumulated in int32 (VNNI, AMX): full 8-bit weights."""
        return bool(self.flags & INT8_DOT_FLAGS)

    @property
    def native_bf16(self) -> bool:
        return bool(self.flags & NATIVE_BF16_FLAGS)

    @property
    def torch_avx512(self) -> bool:
        """torch runs its AVX-512 kernels (its bf16 flash attention needs them)."""
        return "AVX512" in self.torch_capability.upper()

    def summary(self) -> str:
        """The instruction sets that matter here, e.g. "AVX2, FMA, AVX-512 VNNI"."""
        names = [name for flag, name in _NAMES.items() if flag in self.flags]
        return ", ".join(names) or f"{self.machine}, no AVX2"


@functools.cache
def _detect() -> CpuFeatures:
    import torch

    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):  # x86 / ARM
                flags.update(value.split())
                break
    except OSError:  # not Linux: no flags, so float32
        pass
    return CpuFeatures(
        frozenset(flags), torch.backends.cpu.get_cpu_capability(), platform.machine()
    )


@dataclass(frozen=True)
class Precision:
    """The dtype that serves (`dtype`) and, where it must first be built (the int8
    export), the one that serves until then (`interim`); `reason` says why, for logs."""

    dtype: str
    interim: str | None = None
    reason: str = ""


def int8_pays(features: CpuFeatures) -> bool:
    """Whether int8 (ONNX Runtime) beats float32 here: on every x86-64 CPU with AVX2 so
    far (docs/runtime.md, "Precision")."""
    return features.avx2


def int8_weight_bits(features: CpuFeatures) -> int:
    """8 where the CPU multiplies u8 x s8 into int32 (VNNI, AMX); 7 on plain AVX2, whose
    int16 pair sums would saturate with full-range weights."""
    return 8 if features.int8_dot else 7


def interim_dtype(features: CpuFeatures) -> str:
    """What serves while a better path is prepared: native bf16, else float32."""
    return BFLOAT16 if features.native_bf16 else FLOAT32


def cpu_precision(
    features: CpuFeatures, *, int8_available: bool, weights_mb: float, min_mb: float
) -> Precision:
    """The CPU's `auto` precision for a checkpoint of `weights_mb` MB of weights."""
    where = features.summary()
    if weights_mb < min_mb:
        return Precision(FLOAT32, reason=f"a small model ({weights_mb:.0f} MB < {min_mb:g} MB)")
    if int8_available and int8_pays(features):
        bits = int8_weight_bits(features)
        interim = interim_dtype(features)
        return Precision(INT8, interim, f"{where}: int8 ({bits}-bit weights)")
    if features.native_bf16:
        why = "no onnxruntime" if not int8_available else "int8 unmeasured here"
        return Precision(BFLOAT16, reason=f"{where}: native bf16 ({why})")
    return Precision(FLOAT32, reason=f"{where}: float32")


def weights_mb(model_dir: Path) -> float:
    """Size of a checkpoint's weight files (safetensors or pytorch .bin), in MB."""
    total = sum(
        path.stat().st_size
        for path in Path(model_dir).iterdir()
        if path.name.startswith(("model", "pytorch_model"))
        and path.suffix in (".safetensors", ".bin")
    )
    return total / 2**20
