"""Which precision serves on a CPU (precision.py): the choice by instruction sets, injected
here rather than read from the machine, and HYASR_DTYPE overriding it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hyasr_space.runtime import precision
from hyasr_space.runtime.policy import pick_precision
from hyasr_space.runtime.precision import CpuFeatures, cpu_precision, weights_mb
from hyasr_space.settings import Settings

AVX2 = CpuFeatures(frozenset({"sse4_2", "avx", "avx2", "fma"}), "AVX2")  # AMD EPYC (Zen 2/3)
VNNI = CpuFeatures(AVX2.flags | {"avx512f", "avx512bw", "avx512_vnni"}, "AVX512")
AMX = CpuFeatures(VNNI.flags | {"avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"}, "AVX512")
AVX_VNNI = CpuFeatures(AVX2.flags | {"avx_vnni"}, "AVX2")  # laptops: Alder Lake and later
ARM = CpuFeatures(frozenset({"fp", "asimd", "asimddp", "bf16"}), "DEFAULT", "aarch64")
OLD = CpuFeatures(frozenset({"sse4_2", "avx"}), "DEFAULT")
BIG = 3_700.0  # MB: the XLS-R 1B checkpoint


def choose(features: CpuFeatures, int8: bool = True, mb: float = BIG):
    return cpu_precision(features, int8_available=int8, weights_mb=mb, min_mb=100.0)


@pytest.mark.parametrize(
    ("features", "dtype", "interim", "bits"),
    [
        (AVX2, "int8", "float32", 7),
        (AVX_VNNI, "int8", "float32", 8),
        (VNNI, "int8", "float32", 8),
        (AMX, "int8", "bfloat16", 8),
    ],
)
def test_int8_on_x86_with_avx2_and_something_else_meanwhile(
    features: CpuFeatures, dtype: str, interim: str, bits: int
) -> None:
    chosen = choose(features)
    assert (chosen.dtype, chosen.interim) == (dtype, interim)
    assert precision.int8_weight_bits(features) == bits
    assert f"{bits}-bit" in chosen.reason


def test_without_onnxruntime_native_bf16_else_float32() -> None:
    assert choose(AMX, int8=False) == precision.Precision(
        "bfloat16", None, choose(AMX, int8=False).reason
    )
    assert choose(VNNI, int8=False).dtype == "float32"
    assert choose(AVX2, int8=False).dtype == "float32"


def test_float32_where_nothing_was_measured_to_pay() -> None:
    for features in (ARM, OLD, CpuFeatures()):
        chosen = choose(features)
        assert (chosen.dtype, chosen.interim) == ("float32", None)


def test_small_models_stay_float32() -> None:
    chosen = choose(AMX, mb=8.5)  # the bundled demo model
    assert (chosen.dtype, chosen.interim) == ("float32", None)
    assert "small model" in chosen.reason


def test_features_read_like_people_say_them() -> None:
    assert AMX.summary() == "AVX2, FMA, AVX-512, AVX-512 VNNI, AVX512-BF16, AMX-BF16, AMX-INT8"
    assert AVX2.summary() == "AVX2, FMA"
    assert not ARM.avx2 and ARM.summary() == "aarch64, no AVX2"
    assert AMX.torch_avx512 and not AVX_VNNI.torch_avx512


def test_this_machine_is_read_as_torch_sees_it() -> None:
    import torch

    features = CpuFeatures.detect()
    assert features.torch_capability == torch.backends.cpu.get_cpu_capability()
    assert features is CpuFeatures.detect()  # read once


def test_hyasr_dtype_overrides_the_choice(
    model_dir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CpuFeatures, "detect", classmethod(lambda cls: AMX))
    tiny = replace(settings, low_precision_min_mb=0.0)
    assert pick_precision("auto", "cpu", model_dir, tiny).dtype in ("int8", "bfloat16")
    for dtype in ("float32", "bfloat16", "int8"):
        assert pick_precision(dtype, "cpu", model_dir, tiny).dtype == dtype
    assert pick_precision("auto", "cpu", model_dir, settings).dtype == "float32"  # tiny model
    assert Settings.from_env({"HYASR_LOW_PRECISION_MIN_MB": "0"}).low_precision_min_mb == 0
    assert Settings.from_env({"HYASR_BACKGROUND_EXPORT": "0"}).background_export is False


def test_weights_are_measured_from_the_checkpoint(model_dir: Path) -> None:
    size = sum(p.stat().st_size for p in model_dir.glob("model*.safetensors")) / 2**20
    assert size > 0 and weights_mb(model_dir) == pytest.approx(size)
