"""Load time and memory per offered model, with random weights of the real sizes.

    python -m benchmarks.models                      # both architectures, float32
    python -m benchmarks.models --models xlsr-1b --seconds 10
    python -m benchmarks.models --switching --duration 40   # switching under load

Each model runs in a fresh process (so its memory is its own): the checkpoint is built
once from its config under build/bench/ (XLS-R 1B: bench_common.XLS_R_1B_CONFIG, as
arampacha/wav2vec2-xls-r-1b-hy-cv and arampacha/wav2vec2-xls-r-1b-hy have it; Wav2Vec2-BERT
600M: hidden 1024, 24 conformer layers, 16 heads, FFN 4096, 160-value stacked filter
banks, as anah1tbaghdassarian/w2v-bert-2.0-armenian-colab-CV17.0_10epochs, a fine-tune of
facebook/w2v-bert-2.0), then loaded by `load_model` as the app loads it (float32; the
int8 export is measured by benchmarks/speed.py) and run once on `--seconds` of audio
(noise: random weights take as long on anything).
The stock baseline is transformers' own `from_pretrained` of the same files, timed in the
same process before ours. Prints one JSON document on stdout.

`--switching`: the load test with half its users on other models (`switching`). The
real app is served on 127.0.0.1 (tests/servers.py) with the bundled demo model as the
Space's model and two copies of it (each its own checkpoint and KenLM, loaded from its
own folder) offered beside it, `HYASR_MAX_LOADED_MODELS=2` (the default: one model
beside the Space's). `--users` gradio_client users send `/transcribe` requests (LM
decoder) for `--duration` seconds, each request new audio (a held-out example with a
fresh -80 dB dither, so no logits cache answers it). Four runs, each on a fresh server:
"all_default" (every user on the Space's model), "half_on_another" (half the users on
one other model, loaded once), "half_switching" (half the users alternating between the
two other models, out of step: with room for one beside the Space's, about every other
such request loads a model and unloads the other) and "half_switching_room_for_3" (the
same with `HYASR_MAX_LOADED_MODELS=3`, room for both). Reported: the default model's
users' latency (p50/p95/max), the other half's, requests per second, how many loads the
pool made and how long they took, and every failure. float32 throughout (no int8 export
in the background to disturb the timings).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_common import WORK_DIR, PeakMemory, log, machine, random_checkpoint

# facebook/w2v-bert-2.0's config.json (https://huggingface.co/facebook/w2v-bert-2.0), with the
# Armenian 44-token vocabulary of the test models in place of a fine-tune's own.
W2V_BERT_600M_CONFIG: dict[str, Any] = {
    "model_type": "wav2vec2-bert",
    "architectures": ["Wav2Vec2BertForCTC"],
    "vocab_size": 44,
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feature_projection_input_dim": 160,
    "conv_depthwise_kernel_size": 31,
    "position_embeddings_type": "relative_key",
    "left_max_position_embeddings": 64,
    "right_max_position_embeddings": 8,
    "add_adapter": False,
    "pad_token_id": 41,
    "bos_token_id": 42,
    "eos_token_id": 43,
    "apply_spec_augment": False,
    "mask_time_prob": 0.0,
}
MODELS = ("xlsr-1b", "w2v-bert-600m")


def w2v_bert_checkpoint(seed: int = 0) -> Path:
    """Wav2Vec2-BERT 600M with random weights in the Hub layout, built once."""
    import torch
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertForCTC

    folder = WORK_DIR / "w2v-bert-600m-random"
    if (folder / "model.safetensors").is_file():
        return folder
    log(f"building the Wav2Vec2-BERT 600M architecture with random weights in {folder}")
    torch.manual_seed(seed)
    network = Wav2Vec2BertForCTC(Wav2Vec2BertConfig(**W2V_BERT_600M_CONFIG)).eval()
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    network.save_pretrained(staging, safe_serialization=True)
    del network
    SeamlessM4TFeatureExtractor().save_pretrained(staging)
    xlsr = random_checkpoint()  # the same tokenizer files
    for name in ("vocab.json", "added_tokens.json", "tokenizer_config.json"):
        shutil.copy(xlsr / name, staging / name)
    staging.rename(folder)
    return folder


def measure(name: str, seconds: float) -> dict[str, Any]:
    """One model in this process: stock load, our load, one forward pass."""
    import torch

    from hyasr_space.models import _count_parameters
    from hyasr_space.results import Clip
    from hyasr_space.runtime import caches, load_model
    from hyasr_space.runtime.features import architecture, model_classes
    from hyasr_space.settings import Settings

    folder = random_checkpoint() if name == "xlsr-1b" else w2v_bert_checkpoint()
    config = json.loads((folder / "config.json").read_text())
    row: dict[str, Any] = {
        "model": name,
        "architecture": architecture(folder),
        "parameters": _count_parameters(config),
        "weights_mb": round(sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 2**20),
    }
    network_class, _ = model_classes(row["architecture"])
    with PeakMemory() as memory:
        started = time.perf_counter()
        network = network_class.from_pretrained(folder, dtype=torch.float32).eval()
        row["stock_load_s"] = round(time.perf_counter() - started, 2)
    row["stock_peak_growth_mb"] = memory.growth_mb
    del network
    caches.clear()
    settings = replace(Settings(), dtype="float32", background_export=False, warm_up=False)
    before_load_mb = PeakMemory()._rss()
    with PeakMemory() as memory:
        started = time.perf_counter()
        model = load_model(str(folder), None, settings)
        row["load_s"] = round(time.perf_counter() - started, 2)
    row["load_peak_growth_mb"] = memory.growth_mb
    row["held_mb"] = round(memory._rss() - memory.start_mb, 1)
    # Random weights read nothing, so any signal times the same: noise at speech level.
    samples = np.random.default_rng(0).normal(scale=0.1, size=int(seconds * 16_000))
    clip = Clip(samples.astype(np.float32), 16_000, "noise")
    with PeakMemory() as memory:
        started = time.perf_counter()
        logits = model.logits(clip)
        row[f"forward_{seconds:g}s_s"] = round(time.perf_counter() - started, 2)
    row["forward_peak_growth_mb"] = memory.growth_mb
    # safetensors are memory-mapped: the weights become resident during the first pass,
    # so the second pass is the model's own speed and the RSS after it what it holds.
    started = time.perf_counter()
    model.logits(clip)
    row[f"forward_again_{seconds:g}s_s"] = round(time.perf_counter() - started, 2)
    row["resident_after_mb"] = round(PeakMemory()._rss() - before_load_mb, 1)
    row["frames"] = logits.frames
    row["dtype"] = model.dtype
    return row


SCENARIOS = ("all_default", "half_on_another", "half_switching", "half_switching_room_for_3")


def switching(users: int, duration_s: float) -> dict[str, Any]:
    """The three runs of `--switching` (see the module's docstring)."""
    import tempfile

    from hyasr_space.settings import Settings

    demo = Settings().demo_model_dir
    copies = []
    for name in ("other-a", "other-b"):
        folder = WORK_DIR / f"switching-{name}"
        if not (folder / "config.json").is_file():
            shutil.copytree(demo, folder)
        copies.append(str(folder))
    examples = sorted((demo.parents[1] / "examples").glob("*.wav"))
    runs = {}
    with tempfile.TemporaryDirectory(prefix="hyasr-switching-") as folder:
        for scenario in SCENARIOS:
            log(f"switching under load: {scenario}, {users} users, {duration_s:g} s")
            runs[scenario] = _switching_run(
                scenario, demo, copies, examples, users, duration_s, Path(folder)
            )
    return {"users": users, "duration_s": duration_s, "runs": runs}


def _switching_run(
    scenario: str,
    demo: Path,
    copies: list[str],
    examples: list[Path],
    users: int,
    duration_s: float,
    folder: Path,
) -> dict[str, Any]:
    import threading

    import soundfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from gradio_client import Client, handle_file
    from servers import app_settings, serve

    from hyasr_space.models import shared_pool
    from hyasr_space.runtime import caches

    caches.clear()
    settings = app_settings(
        demo, models=tuple(copies), max_loaded_models=3 if "room" in scenario else 2,
        dtype="float32",
        max_duration_s=60.0, max_file_size_mb=10.0, warm_up=True,
        # a distinct pool for each run: the settings are the pool's key
        examples_dir=folder / f"no-examples-{scenario}",
    )  # fmt: skip
    pool = shared_pool(settings)
    loads: list[float] = []
    real_load = pool._load

    def counted_load(ref: str):
        started = time.perf_counter()
        try:
            return real_load(ref)
        finally:
            loads.append(time.perf_counter() - started)

    pool._load = counted_load
    clips = [soundfile.read(path, dtype="float32")[0] for path in examples]
    latencies: dict[str, list[float]] = {"default": [], "other": []}
    failures: list[str] = []
    lock = threading.Lock()

    def user(index: int, url: str) -> None:
        client = Client(url, verbose=False)
        other = index % 2 == 1 and scenario != "all_default"
        rng = np.random.default_rng(index)
        sent = 0
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline:
            clip = clips[(index + sent) % len(clips)]
            audio = clip + rng.normal(scale=1e-4, size=clip.shape).astype(np.float32)
            path = folder / f"{scenario}-{index}-{sent}.wav"
            soundfile.write(path, audio, 16_000, subtype="FLOAT")
            model = None
            if other:
                # the switching users out of step: one on each other model at a time
                turn = (sent + index // 2) % 2
                model = copies[turn] if "switching" in scenario else copies[0]
            arguments = {"audio": handle_file(str(path)), "decoder": "lm"}
            if model:
                arguments["model"] = model
            started = time.perf_counter()
            try:
                text, *_ = client.predict(**arguments, api_name="/transcribe")
                if not text.strip():
                    raise ValueError("empty transcript")
            except Exception as error:  # every failure is counted and shown
                with lock:
                    failures.append(f"{'other' if other else 'default'}: {error}")
            else:
                with lock:
                    latencies["other" if other else "default"].append(time.perf_counter() - started)
            path.unlink(missing_ok=True)
            sent += 1

    with serve(settings) as url:
        threads = [threading.Thread(target=user, args=(i, url)) for i in range(users)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    answered = sum(len(values) for values in latencies.values())
    return {
        "default_users_s": _percentiles(latencies["default"], digits=2),
        "other_users_s": _percentiles(latencies["other"], digits=2),
        "requests_per_s": round(answered / elapsed, 2),
        "model_loads": len(loads),
        "load_s": _percentiles(loads, digits=2),
        "failures": len(failures),
        "failure_examples": failures[:5],
    }


def _percentiles(values: list[float], digits: int = 2) -> dict[str, float | int | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "count": 0}
    array = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(array, 50)), digits),
        "p95": round(float(np.percentile(array, 95)), digits),
        "max": round(float(array.max()), digits),
        "count": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--switching", action="store_true", help="switching under load")
    parser.add_argument("--users", type=int, default=4, help="--switching: users at once")
    parser.add_argument("--duration", type=float, default=40.0, help="--switching: seconds")
    parser.add_argument("--one", choices=MODELS, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.switching:
        result = switching(args.users, args.duration)
        print(json.dumps({"machine": machine(), **result}, indent=2))
        return
    if args.one:
        print(json.dumps(measure(args.one, args.seconds)))
        return
    rows = []
    for name in args.models:
        log(f"measuring {name}")
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.models", "--one", name, "--seconds",
             str(args.seconds)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            rows.append({"model": name, "error": done.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps({"machine": machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
