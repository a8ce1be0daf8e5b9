"""`hyasr batch` (Ray Data) against `hyasr transcribe` over the same files, and a
simulated two-node cluster that loses a node mid-run.

    python -m benchmarks.batch                           # demo model, 32 clips of ~10 s
    python -m benchmarks.batch --files 64 --runs 1x1 2x1 --cluster
    python -m benchmarks.batch --layers 4 --dtype int8   # XLS-R 1B architecture, 4 layers

Prints one JSON object:

- `transcribe`: `hyasr transcribe FILE...` in one process (wall time of the command,
  start-up and model loading included, and its audio hours per wall hour);
- `batch`: `hyasr batch FOLDER --out DIR --acoustic-workers A --decoder-workers D` per
  AxD in --runs, the
  same files, a local Ray started by the command: the command's wall time (Ray's start
  included), the pipeline's wall time from its summary, and the engine's overhead
  against `transcribe`; every run checks that each file's text equals `transcribe`'s;
- `stages`: per-stage costs in one process (`hyasr eval`'s evaluation on the same
  files): reading, the forward pass and each decoder, in seconds per audio second; the
  paper estimate for 10,000 hours in docs/batch.md comes from these and a GPU rate;
- `cluster` (--cluster): `ray.cluster_utils.Cluster` with a head and a second node, the
  pipeline spread over both (`--acoustic-workers 2`), the second node removed once the
  first rows are written: rows written, inputs, duplicates, which nodes ran actors.

The clips are the two spoken examples concatenated (f3 + m3 + f3, about 10.3 s) at a
different gain each, so no two are the same audio (the transcriber caches logits by
content). Run it under the CPU lock: every number is wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
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
import soundfile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HYASR = [sys.executable, "-m", "hyasr_space.cli"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_corpus(folder: Path, files: int) -> float:
    """`files` clips of about 10 s; their total duration in seconds."""
    f3, rate = soundfile.read(EXAMPLES / "hy-heldout-f3.wav", dtype="float32")
    m3, _ = soundfile.read(EXAMPLES / "hy-heldout-m3.wav", dtype="float32")
    speech = np.concatenate([f3, m3, f3])
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        gain = 0.5 + 0.4 * index / max(1, files - 1)
        soundfile.write(folder / f"clip-{index:04d}.wav", speech * gain, rate, subtype="PCM_16")
    return files * len(speech) / rate


def run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-2000:]}")
    return wall, done.stdout


def hours_per_hour(audio_s: float, wall_s: float) -> float:
    return round(audio_s / wall_s, 1)


def bench_transcribe(files: list[Path], model_args: list[str], env: dict, audio_s: float):
    wall, stdout = run(
        [*HYASR, "transcribe", *model_args, "--format", "json", *map(str, files)], env
    )
    # the LM text, or the greedy one for a model without an LM (the row's "text" alike)
    texts = {i["file"]: list(i["decoders"].values())[-1]["text"] for i in json.loads(stdout)}
    return {"wall_s": round(wall, 2), "audio_h_per_h": hours_per_hour(audio_s, wall)}, texts


def bench_batch(
    corpus: Path, workers: int, decoders: int, model_args: list[str], env: dict,
    audio_s: float, texts: dict[str, str], transcribe_wall: float,
) -> dict[str, Any]:  # fmt: skip
    import pyarrow.parquet as pq

    out = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        command = [
            *HYASR, "batch", str(corpus), "--out", str(out / "o"), *model_args,
            "--acoustic-workers", str(workers), "--decoder-workers", str(decoders),
        ]  # fmt: skip
        if workers > 1:
            cpus = len(os.sched_getaffinity(0))
            command += ["--acoustic-threads", str(max(1, cpus // workers))]
        wall, _ = run(command, env)
        summary = json.loads((out / "o" / "summary.json").read_text())
        rows = pq.read_table(out / "o" / "parts", columns=["id", "text"]).to_pylist()
        same = sum(texts.get(row["id"]) == row["text"] for row in rows)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "acoustic_workers": workers,
        "decoder_workers": decoders,
        "wall_s": round(wall, 2),
        "pipeline_wall_s": round(summary["wall_seconds"], 2),
        "audio_h_per_h": hours_per_hour(audio_s, wall),
        "pipeline_audio_h_per_h": round(summary["throughput"], 1),
        "overhead_vs_transcribe": round(wall / transcribe_wall - 1, 3),
        "rows": len(rows),
        "texts_equal_to_transcribe": same,
        "workers": summary["workers"],
    }


def bench_stages(files: list[Path], model: str, dtype: str) -> dict[str, Any]:
    """Per-stage seconds per audio second, in one process (evaluation.py's timers)."""
    from dataclasses import replace

    from hyasr_space.evaluation import Utterance, evaluate
    from hyasr_space.settings import Settings
    from hyasr_space.transcriber import Transcriber

    settings = replace(Settings(), dtype=dtype, background_export=False)
    transcriber = Transcriber.load(model, None, settings)
    data = [Utterance(path, "ա", path.name) for path in files]  # scores unused: timings
    report = evaluate(transcriber, data, "both")
    return {
        "runtime": f"{transcriber.model.device}, {transcriber.model.runtime}",
        "read_s_per_audio_s": round(report.load_seconds / report.audio_seconds, 5),
        "forward_s_per_audio_s": round(report.forward_rtf, 5),
        "greedy_s_per_audio_s": round(report.result("greedy").decode_rtf, 5),
        "lm_s_per_audio_s": round(report.result("lm").decode_rtf, 5),
    }


def bench_cluster(corpus: Path, model: str, inputs: int) -> dict[str, Any]:
    """Two nodes on this machine; the second removed after the first rows are written."""
    import pyarrow.parquet as pq
    import ray
    from ray.cluster_utils import Cluster

    from hyasr_space.batch import BatchOptions, run_batch
    from hyasr_space.settings import Settings

    # Logical CPUs: enough on the head for every actor to be placed again there.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4})
    second = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)  # stdout is the JSON
    nodes_seen: dict[str, set[str]] = {"AcousticStage": set(), "DecoderStage": set()}
    removed: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # which node's raylet each actor process hangs under
        import psutil

        raylets = {
            p.pid: name
            for name, node in (("head", cluster.head_node), ("second", second))
            for p in [node.all_processes["raylet"][0].process]
        }
        while not stop.is_set():
            for process in psutil.process_iter(["cmdline"]):
                line = " ".join(process.info["cmdline"] or [])
                for stage in nodes_seen:
                    if stage in line:
                        try:
                            parents = [q.pid for q in process.parents()]
                        except psutil.Error:
                            continue
                        nodes_seen[stage].update(raylets[p] for p in parents if p in raylets)
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def remove_second(done: int, total: int) -> None:
        if not removed and nodes_seen["AcousticStage"] >= {"head", "second"}:
            log(f"removing the second node after {done}/{total} rows")
            cluster.remove_node(second)
            removed.append(done)

    out = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    started = time.perf_counter()
    try:
        options = BatchOptions(
            model=model, settings=Settings(), acoustic_workers=2, acoustic_threads=1,
            decoder_workers=1,
        )  # fmt: skip
        summary = run_batch([str(corpus)], out, options, on_rows=remove_second)
        wall = time.perf_counter() - started
        ids = pq.read_table(out / "parts", columns=["identity"])["identity"].to_pylist()
    finally:
        stop.set()
        shutil.rmtree(out, ignore_errors=True)
        ray.shutdown()
        cluster.shutdown()
    return {
        "nodes": 2,
        "inputs": inputs,
        "rows": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "failed": summary.failed,
        "second_node_removed_after_rows": removed[0] if removed else None,
        "actor_nodes": {stage: sorted(nodes) for stage, nodes in nodes_seen.items()},
        "wall_s": round(wall, 2),
    }


def prepare_int8(model: str) -> float:
    """The int8 export, made (or found) before any timing: every path then loads it."""
    from hyasr_space.checkpoints import resolve_model
    from hyasr_space.quantized import int8_model_path
    from hyasr_space.settings import Settings

    settings = Settings()
    started = time.perf_counter()
    int8_model_path(resolve_model(model, None, settings).path, settings.cache_dir)
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument(
        "--runs", nargs="+", default=["1x1", "2x1"], help="acoustic x decoder workers per run"
    )
    parser.add_argument("--model", default="demo")
    parser.add_argument(
        "--layers",
        type=int,
        default=None,
        help="the XLS-R 1B architecture with random weights, this many layers",
    )
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--no-stages", action="store_true")
    args = parser.parse_args()  # fmt: skip

    model = args.model
    if args.layers:
        from benchmarks.bench_common import random_checkpoint

        model = str(random_checkpoint(args.layers))
    export_s = prepare_int8(model) if args.dtype == "int8" else None
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    model_args = ["--model", model, "--dtype", args.dtype]
    work = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    results: dict[str, Any] = {}
    try:
        corpus = work / "corpus"
        audio_s = make_corpus(corpus, args.files)
        files = sorted(corpus.glob("*.wav"))
        results["corpus"] = {"files": args.files, "audio_s": round(audio_s, 1)}
        results["model"] = {"model": model, "layers": args.layers, "dtype": args.dtype}
        if export_s is not None:
            results["model"]["int8_export_s"] = export_s
        from benchmarks.bench_common import machine

        results["machine"] = {**machine(), "load": os.getloadavg()}
        log("hyasr transcribe ...")
        results["transcribe"], texts = bench_transcribe(files, model_args, env, audio_s)
        texts = {f"clip-{i:04d}.wav": texts[f"clip-{i:04d}.wav"] for i in range(args.files)}
        results["batch"] = []
        for run_spec in args.runs:
            workers, decoders = (int(n) for n in run_spec.split("x"))
            log(f"hyasr batch, {workers} acoustic and {decoders} decoder worker(s) ...")
            transcribe_wall = results["transcribe"]["wall_s"]
            results["batch"].append(
                bench_batch(
                    corpus, workers, decoders, model_args, env, audio_s, texts, transcribe_wall
                )
            )
        if not args.no_stages:
            log("per-stage costs ...")
            results["stages"] = bench_stages(files, model, args.dtype)
        if args.cluster:
            log("two-node cluster ...")
            results["cluster"] = bench_cluster(corpus, model, args.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
