#!/usr/bin/env bash
# The GPU check in one command: on a fresh NVIDIA GPU machine with no network, install
# what it lacks from the carried wheels, run the GPU tests, then the GPU speed benchmark,
# and print one JSON document on stdout (progress on stderr).
#
#   benchmarks/gpu_check.sh                  # on the GPU machine, from the repository root
#   benchmarks/gpu_check.sh --dry-run        # here, on the CPU: the same steps, small
#   benchmarks/gpu_check.sh --build-wheels   # here, with a package index: fill .whl/
#
# What the GPU machine has (see benchmarks/README.md): Python 3.12 with torch, transformers,
# numpy 2, onnxruntime, pytest, pytest-timeout, psutil, hypothesis, cmake, g++; not gradio,
# pyctcdecode, kenlm, soundfile, soxr, jiwer or srt. Nothing here imports gradio.
# It needs, carried beside the repository: .whl/ (5 MB: binary cp312 wheels, and the
# sdists of kenlm and srt, which build there in about a minute) and the held-out speech
# build/speech/heldout-test (21 MB, made here by espeak-ng). With the device tool:
#   carry: [".whl", "build/speech/heldout-test"]   command: benchmarks/gpu_check.sh
# It writes its pieces under ${GPU_CHECK_OUT:-$OUT or build/gpu-check} and needs about
# 5-8 minutes on an H200 (the random XLS-R 1B checkpoint is built there: 4 GB of disk).
set -uo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=.whl
SPEECH=build/speech/heldout-test
RESULTS=${GPU_CHECK_OUT:-${OUT:-build/gpu-check}}
SITE=${GPU_CHECK_SITE:-/tmp/hyasr-gpu-site}
mkdir -p "$RESULTS"
log() { echo "[gpu_check $(date +%T)] $*" >&2; }

if [[ "${1:-}" == "--build-wheels" ]]; then
    # Binary wheels for CPython 3.12 on manylinux x86-64, and two sdists (kenlm ships no
    # wheel; srt is pure Python but sdist-only). Versions as requirements.txt has them.
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" \
        pyctcdecode==0.5.0 pygtrie soundfile soxr jiwer rapidfuzz || exit 1
    "$PYTHON" -m pip download --no-deps --no-binary=:all: --no-build-isolation -d "$WHEELS" \
        kenlm==0.3.0 srt==3.5.3 || exit 1
    du -sh "$WHEELS" >&2
    exit 0
fi

DRY_RUN=0
[[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1
# Each step's limit in seconds (the whole check must end inside 8 minutes on an H200);
# the dry run's are longer: 2 CPU cores are slower than a GPU at everything here.
SCALE=$(( DRY_RUN ? 4 : 1 ))
started=$(date +%s)

# 1. What the machine lacks, from the wheels folder (no index is reachable there).
install_status="skipped"
if (( DRY_RUN )); then
    # Here the virtual environment has everything; check that the folder would install
    # on Python 3.12 (binary wheels resolve; the sdists are there).
    if ls "$WHEELS"/*.whl >/dev/null 2>&1 && ls "$WHEELS"/kenlm-*.tar.gz >/dev/null 2>&1; then
        "$PYTHON" -m pip install --dry-run --ignore-installed --no-index --no-deps \
            --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --target "$SITE" "$WHEELS"/*.whl >&2 \
            && install_status="dry-run: wheels resolve for cp312" || install_status="failed"
    else
        install_status="no $WHEELS folder (benchmarks/gpu_check.sh --build-wheels)"
    fi
else
    log "installing from $WHEELS into $SITE"
    if "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
        --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/* >"$RESULTS/install.log" 2>&1; then
        install_status="installed"
    else
        install_status="failed (see install.log)"
        # kenlm is the likeliest to fail (a C++ build): install the rest without it
        "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
            --no-cache-dir --upgrade --target "$SITE" \
            $(ls "$WHEELS"/* | grep -v kenlm) >>"$RESULTS/install.log" 2>&1
    fi
    export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
log "install: $install_status"

# 2. The GPU tests (skipped, not failed, without a GPU: the dry run checks they collect).
log "pytest -m gpu"
timeout $((120 * SCALE)) "$PYTHON" -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu.py \
    --junitxml="$RESULTS/gpu_tests.xml" >"$RESULTS/gpu_tests.log" 2>&1
tests_rc=$?

# 3. Speed: stock pipeline against ours (bf16, compiled, batched), 10 s and 60 s clips,
# 8 concurrent requests. The dry run times a 2-layer model on the CPU instead.
if [[ ! -f "$SPEECH/metadata.tsv" ]]; then
    log "no $SPEECH: carry it (made here by python -m benchmarks.int8_agreement or tools.synth_speech)"
fi
if (( DRY_RUN )); then
    base_args=(--device cpu --layers 2)
    speed_args=("${base_args[@]}" --paths stock fp32 bf16 batched
        --seconds 10 --slow-seconds 10 --concurrent-paths bf16 batched --concurrency 4)
else
    base_args=(--device cuda)
    speed_args=("${base_args[@]}" --paths stock fp32 bf16 batched
        --seconds 10 60 --slow-seconds 10 60 --concurrent-paths bf16 batched
        --concurrency 8 --repeats 3)
fi
log "python -m benchmarks.speed ${speed_args[*]}"
timeout $((240 * SCALE)) "$PYTHON" -m benchmarks.speed "${speed_args[@]}" \
    >"$RESULTS/speed.json" 2>"$RESULTS/speed.log"
speed_rc=$?
# CUDA graphs on their own, last and with one length bucket (10 s windows): each bucket
# of the 1B model compiles for a minute or more, and a slow compile must not cost the
# rows above.
compiled_args=("${base_args[@]}" --paths compiled --seconds 10 --slow-seconds 10
    --concurrent-paths --chunk-s 10 --compile-bucket-s 10)
log "python -m benchmarks.speed ${compiled_args[*]}"
timeout $((150 * SCALE)) "$PYTHON" -m benchmarks.speed "${compiled_args[@]}" \
    >"$RESULTS/speed_compiled.json" 2>"$RESULTS/speed_compiled.log"
compiled_rc=$?

# 4. One JSON document: the tests' outcome, the speed report, and the issue's targets.
"$PYTHON" - "$RESULTS" "$install_status" "$tests_rc" "$speed_rc" "$compiled_rc" "$started" "$DRY_RUN" <<'EOF'
import json
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

results, install, tests_rc, speed_rc, compiled_rc, started, dry_run = sys.argv[1:]
results = Path(results)
report = {"dry_run": dry_run == "1", "install": install}
try:
    suite = ElementTree.parse(results / "gpu_tests.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    failed = [
        case.get("name")
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    report["gpu_tests"] = {**counts, "failed": failed, "exit_status": int(tests_rc)}
except (OSError, ElementTree.ParseError) as error:
    report["gpu_tests"] = {"exit_status": int(tests_rc), "error": str(error)}
try:
    speed = json.loads((results / "speed.json").read_text())
except (OSError, ValueError) as error:
    tail = (results / "speed.log").read_text().splitlines()[-5:] if (results / "speed.log").exists() else []
    speed = {"error": str(error), "exit_status": int(speed_rc), "log_tail": tail}
try:
    compiled = json.loads((results / "speed_compiled.json").read_text())
    speed.setdefault("paths", {}).update(compiled.get("paths", {}))
    speed["compiled_run"] = {"chunk_s": compiled.get("chunk_s"), "wall_s": compiled.get("wall_s")}
except (OSError, ValueError) as error:
    speed["compiled_run"] = {"error": str(error), "exit_status": int(compiled_rc)}
report["speed"] = speed
paths = speed.get("paths", {})


def get(path, *keys):
    value = paths.get(path, {})
    for key in keys:
        value = value.get(key, {}) if isinstance(value, dict) else {}
    return value if isinstance(value, (int, float)) else None


forward = get("bf16", "10s", "forward_s")
stock_lm, ours_lm = get("stock", "10s", "e2e_lm_s"), get("bf16", "10s", "e2e_lm_s")
# one request at a time: a 10 s clip per its e2e latency; 8 at once: the batched run
single = get("bf16", "10s", "e2e_greedy_s")
one_at_a_time = single and 10.0 / single
batched = get("batched", "concurrent", "throughput_audio_s_per_s")
report["targets"] = {
    "bf16_forward_10s_ms": {"value": forward and round(forward * 1000, 2), "target": "< 10"},
    "compiled_forward_10s_ms": {
        "value": (v := get("compiled", "10s", "forward_s")) and round(v * 1000, 2),
        "target": "< 10",
    },
    "e2e_lm_10s_vs_stock": {
        "value": stock_lm and ours_lm and round(stock_lm / ours_lm, 2),
        "target": ">= 3",
    },
    "8_concurrent_batched_vs_one_at_a_time": {
        "value": batched and one_at_a_time and round(batched / one_at_a_time, 2),
        "target": ">= 4",
    },
}
report["wall_s"] = round(time.time() - int(started), 1)
json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
print()
EOF
