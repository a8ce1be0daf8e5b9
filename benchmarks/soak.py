"""Soak: the served app's memory under sustained load from many sessions, round by round.

    python -m benchmarks.soak                    # 48 x 32 x 3 requests
    python -m benchmarks.soak --quick            # smoke run, 20 s
    python -m benchmarks.soak --rounds 48 --env HYASR_HEAP_TRIM_S=0 --out soak_x.json
    python -m benchmarks.soak --rest-every 4     # every 4th user on /v1 (the openai client)

The server is the real app (`app.py --model demo`, default settings unless `--env` says
otherwise) in its own process, with a fresh TMPDIR so that its upload cache
(TMPDIR/gradio) and its per-session download folders (TMPDIR/hyasr-session-*) can be
counted. The script only talks to it over HTTP with gradio_client, and measures it with
psutil (the server process and its children).

Each round, `--users` users arrive at once; each is a NEW gradio_client `Client` (a new
Gradio session, as a new visitor is) that sends `--clips` clips one after the other and
then closes (its heartbeat stops, as when a tab is closed). Sessions therefore pile up in
the server the way real visitors' do. The clips are real Armenian speech: the committed
examples/*.wav and sentences spoken by espeak-ng (`-v hy` with a few voices). Most
requests vary the clip a little (gain, a few ms of silence at either end), so the server's
logits cache cannot answer them and the model runs; `--repeat-fraction` of them send a
clip unchanged (cache hits, and the same upload again). A request refused with "Queue is
full" is retried after a pause, like a person clicking again (`--retries` times).

After each round (and `--settle-s` of quiet) it records the server's RSS and USS, its
peak RSS during the round, threads, open file descriptors, files and bytes in the upload
cache and the session folders, the requests' outcomes and latencies (p50/p95 of the
answered ones, from submit to answer). The verdict fits RSS against requests over the
last third of the rounds: MB per 1000 requests, and whether that is flat enough to call
levelled off (`--flat-mb-per-1000`).

`--server-script` runs another script in place of app.py (it must accept app.py's
arguments), e.g. a wrapper that starts tracemalloc; with `--signal-each-round USR1` the
server is sent that signal after each round's measurement (the wrapper's handler can dump
allocations, collect garbage and trim the heap) and RSS is measured again after it.

Prints one JSON document on stdout (and writes it to `--out`); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from hyasr_space.settings import SAMPLE_RATE
from tools.espeak import SENTENCES, speak

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DEMO_ATTRS = ROOT / "hyasr_space" / "demo_model" / "language_model" / "attrs.json"
QUEUE_FULL = "Queue is full"
MB = 2**20

# espeak-ng voice, words per minute, pitch.
VOICES = (("hy", "160", "50"), ("hy+m2", "175", "40"), ("hy+f2", "150", "65"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the API call: the one place that knows the endpoint's parameters ---------------


@dataclass(frozen=True)
class Request:
    decoder: str = "lm"
    alpha: float = 0.5
    beta: float = 1.5
    beam_width: int = 100
    hotwords: str = ""
    hotword_weight: float = 10.0

    @classmethod
    def defaults(cls) -> Request:
        """LM weights from the demo model's attrs.json, as the page would send them."""
        attrs = json.loads(DEMO_ATTRS.read_text()) if DEMO_ATTRS.is_file() else {}
        return cls(alpha=float(attrs.get("alpha", 0.5)), beta=float(attrs.get("beta", 1.5)))


def transcribe(client: Any, path: Path, request: Request, timeout_s: float) -> str:
    """One call of the app's /transcribe endpoint; returns the transcript."""
    from gradio_client import handle_file

    job = client.submit(
        audio=handle_file(str(path)),
        decoder=request.decoder,
        alpha=request.alpha,
        beta=request.beta,
        beam_width=request.beam_width,
        hotwords=request.hotwords,
        hotword_weight=request.hotword_weight,
        api_name="/transcribe",
    )
    return job.result(timeout=timeout_s)[0]


def transcribe_rest(client: Any, path: Path) -> str:
    """One request to the OpenAI-compatible endpoint (`POST /v1/audio/transcriptions`)
    with the `openai` client, as a program would send it; returns the text."""
    with path.open("rb") as audio:
        return client.audio.transcriptions.create(model="whisper-1", file=audio).text


# --- audio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray  # float32 mono
    rate: int


def make_clips(sentences: int) -> list[Clip]:
    clips = []
    for path in sorted(EXAMPLES.glob("*.wav")):
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        clips.append(Clip(path.stem, samples.mean(axis=1), rate))
    if shutil.which("espeak-ng"):
        for index, text in enumerate(SENTENCES[:sentences]):
            voice, speed, pitch = VOICES[index % len(VOICES)]
            samples = speak(text, ("-v", voice, "-s", speed, "-p", pitch))
            clips.append(Clip(f"espeak-{index}-{voice}", samples, SAMPLE_RATE))
    else:
        log("espeak-ng not found: only the examples/*.wav clips are used")
    if not clips:
        raise SystemExit("no clips: neither examples/*.wav nor espeak-ng")
    return clips


def write_variant(clip: Clip, path: Path, rng: random.Random, repeat_fraction: float) -> bool:
    """The clip as a 16-bit WAV, unchanged (True) or with new gain and padding (False)."""
    if rng.random() < repeat_fraction:
        samples, repeated = clip.samples, True
    else:
        gain = rng.uniform(0.5, 1.0)
        head, tail = (int(clip.rate * rng.uniform(0.0, 0.04)) for _ in range(2))
        samples, repeated = np.pad(clip.samples * gain, (head, tail)), False
    soundfile.write(path, samples, clip.rate, subtype="PCM_16")
    return repeated


# --- the server ----------------------------------------------------------------------


def code_version() -> dict[str, Any]:
    """The commit the server runs, and whether the package differs from it (read-only git)."""

    def git(*command: str) -> str:
        try:
            done = subprocess.run(
                ["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "changed_files": git(
            "--no-optional-locks", "status", "--porcelain", "--", "hyasr_space", "app.py"
        ).splitlines(),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    tmpdir: Path
    log_path: Path

    def processes(self) -> list[Any]:
        import psutil

        main = psutil.Process(self.process.pid)
        return [main, *main.children(recursive=True)]

    def memory(self, full: bool = True) -> dict[str, float]:
        """RSS (and USS, with `full`) in MB, summed over the server and its children."""
        import psutil

        totals = Counter()
        for proc in self.processes():
            try:
                info = proc.memory_full_info() if full else proc.memory_info()
            except psutil.Error:
                continue
            totals["rss_mb"] += info.rss / MB
            if full:
                totals["uss_mb"] += info.uss / MB
                totals["anon_mb"] += _status_kb(proc.pid, "RssAnon") / 1024
        return {key: round(value, 1) for key, value in totals.items()}

    def handles(self) -> dict[str, int]:
        import psutil

        counts = Counter()
        for proc in self.processes():
            try:
                counts["threads"] += proc.num_threads()
                counts["fds"] += proc.num_fds()
                counts["open_files"] += len(proc.open_files())
            except psutil.Error:
                continue
        return dict(counts)

    def files(self) -> dict[str, int]:
        """Files (and bytes) in the upload cache and in the session download folders."""
        uploads = [p for p in (self.tmpdir / "gradio").rglob("*") if p.is_file()]
        sessions = list(self.tmpdir.glob("hyasr-session-*"))
        session_files = [p for folder in sessions for p in folder.rglob("*") if p.is_file()]
        return {
            "upload_cache_files": len(uploads),
            "upload_cache_mb": round(sum(_size(p) for p in uploads) / MB, 2),
            "session_dirs": len(sessions),
            "session_files": len(session_files),
        }


def _status_kb(pid: int, key: str) -> float:
    """A field of /proc/PID/status in kB (Linux; 0 elsewhere). RssAnon is the heap and
    other private memory, without the shared libraries that RSS also counts."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def start_server(args: argparse.Namespace, workdir: Path) -> Server:
    port = args.port or free_port()
    tmpdir = workdir / "server-tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", TMPDIR=str(tmpdir))
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    script = args.server_script or str(ROOT / "app.py")
    command = [sys.executable, script, "--model", args.model, "--port", str(port)]
    log_path = workdir / "server.log"
    log(f"starting: {' '.join(command)} (env {' '.join(args.env) or 'default'})")
    with open(log_path, "wb") as server_log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}/", tmpdir, log_path)
    deadline = time.monotonic() + args.start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}):\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(server.url + "config", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(1.0)
    stop_server(server)
    raise SystemExit(f"the server did not answer within {args.start_timeout_s} s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- the users -----------------------------------------------------------------------


@dataclass
class Tally:
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, seconds: float | None = None, error: str | None = None):
        with self.lock:
            self.outcomes[outcome] += 1
            if seconds is not None:
                self.latencies.append(seconds)
            if error:
                self.errors[error[:200]] += 1


def run_round(
    number: int,
    server: Server,
    clips: list[Clip],
    folder: Path,
    args: argparse.Namespace,
    request: Request,
) -> Tally:
    from gradio_client import Client

    tally = Tally()

    def user(index: int) -> None:
        rng = random.Random(f"{args.seed}-{number}-{index}")
        # Every `--rest-every`-th user is a program on the OpenAI-compatible endpoint.
        rest = bool(args.rest_every) and index % args.rest_every == args.rest_every - 1
        try:
            if rest:
                from openai import OpenAI

                client = OpenAI(
                    base_url=server.url.rstrip("/") + "/v1", api_key="soak",
                    max_retries=0, timeout=args.request_timeout_s,
                )  # fmt: skip
            else:
                client = Client(
                    server.url, verbose=False, download_files=False, analytics_enabled=False
                )
        except Exception as error:  # noqa: BLE001 - every failure is tallied
            tally.add("client_error", error=f"{type(error).__name__}: {error}")
            return
        try:
            for clip_index in range(args.clips):
                clip = rng.choice(clips)
                path = folder / f"r{number}-u{index}-c{clip_index}.wav"
                repeated = write_variant(clip, path, rng, args.repeat_fraction)
                tally.add("repeated" if repeated else "varied")
                try:
                    for attempt in range(args.retries + 1):
                        began = time.monotonic()
                        try:
                            if rest:
                                text = transcribe_rest(client, path)
                            else:
                                text = transcribe(client, path, request, args.request_timeout_s)
                        except Exception as error:  # noqa: BLE001
                            message = f"{type(error).__name__}: {error}"
                            # /v1 refuses with OpenAI's 503 (code queue_full, Retry-After)
                            busy = rest and getattr(error, "status_code", None) == 503
                            if QUEUE_FULL in message or busy:
                                tally.add("refused")
                                if attempt < args.retries:
                                    time.sleep(rng.uniform(0.5, 1.5))
                                    continue
                                tally.add("gave_up")
                            else:
                                tally.add("error", error=message)
                            break
                        tally.add("ok", time.monotonic() - began)
                        if rest:
                            tally.add("ok_rest")
                        if not text.strip():
                            tally.add("empty_text")
                        break
                finally:
                    path.unlink(missing_ok=True)
        finally:
            client.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(args.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


class PeakWatcher:
    """The server's highest RSS, sampled every half second until `stop()`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            rss = self.server.memory(full=False).get("rss_mb", 0.0)
            self.peak_mb = max(self.peak_mb, rss)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb, 1)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys against xs."""
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return None if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def verdict(rounds: list[dict], baseline: dict, flat: float) -> dict[str, Any]:
    """Growth over the last third of the rounds, in MB per 1000 requests."""
    if not rounds:
        return {}
    last = rounds[-max(2, math.ceil(len(rounds) / 3)) :] if len(rounds) > 1 else rounds
    xs = [r["requests_total"] / 1000 for r in last]
    out: dict[str, Any] = {
        "rounds_in_fit": [last[0]["round"], last[-1]["round"]],
        "rss_start_mb": baseline["rss_mb"],
        "rss_end_mb": rounds[-1]["rss_mb"],
        "rss_max_mb": max(r["rss_mb"] for r in rounds),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
    }
    for key in ("rss_mb", "anon_mb", "uss_mb", "rss_after_signal_mb"):
        if all(key in r for r in last):
            value = slope(xs, [r[key] for r in last])
            out[f"{key[:-3]}_mb_per_1000_requests_last_third"] = (
                None if value is None else round(value, 2)
            )
    growth = out.get("rss_mb_per_1000_requests_last_third")
    out["rss_mean_last_third_mb"] = round(sum(r["rss_mb"] for r in last) / len(last), 1)
    out["levelled_off"] = growth is not None and growth <= flat
    out["summary"] = (
        f"RSS {baseline['rss_mb']:.0f} -> {rounds[-1]['rss_mb']:.0f} MB over "
        f"{rounds[-1]['requests_total']} requests; last third of the rounds: "
        f"{growth if growth is not None else float('nan'):+.1f} MB per 1000 requests "
        + (
            f"(levelled off at ~{out['rss_mean_last_third_mb']:.0f} MB)"
            if out["levelled_off"]
            else f"(still growing; flat means <= {flat:g})"
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=48)
    parser.add_argument("--users", type=int, default=32, help="new sessions per round")
    parser.add_argument("--clips", type=int, default=3, help="requests per session")
    parser.add_argument("--quick", action="store_true", help="smoke size: 3 rounds x 4 x 2")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="server environment, e.g. HYASR_MAX_SESSIONS=100, "
                        "MALLOC_ARENA_MAX=2, PYTHONMALLOC=malloc (repeatable)")  # fmt: skip
    parser.add_argument("--server-script", help="run this in place of app.py")
    parser.add_argument("--signal-each-round", metavar="SIG",
                        help="send this signal (e.g. USR1) after each round's measurement "
                        "and measure RSS again (only for a server that handles it)")  # fmt: skip
    parser.add_argument("--sentences", type=int, default=len(SENTENCES),
                        help="espeak-ng sentences besides examples/*.wav")  # fmt: skip
    parser.add_argument("--repeat-fraction", type=float, default=0.25,
                        help="share of requests that send a clip unchanged")  # fmt: skip
    parser.add_argument("--retries", type=int, default=3, help="after 'Queue is full'")
    parser.add_argument(
        "--rest-every",
        type=int,
        default=0,
        metavar="N",
        help="every Nth user sends to /v1/audio/transcriptions (openai)",
    )
    parser.add_argument("--request-timeout-s", type=float, default=120.0)
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument("--start-timeout-s", type=float, default=180.0)
    parser.add_argument("--flat-mb-per-1000", type=float, default=2.0,
                        help="growth (MB per 1000 requests) counted as level")  # fmt: skip
    parser.add_argument("--port", type=int)
    parser.add_argument("--seed", default="soak")
    parser.add_argument("--label", default="", help="a name for this configuration")
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the server's TMPDIR")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.users, args.clips = 3, 4, 2

    import gradio_client
    import psutil

    request = Request.defaults()
    workdir = Path(tempfile.mkdtemp(prefix="hyasr-soak-"))
    clip_dir = workdir / "clips"
    clip_dir.mkdir()
    clips = make_clips(args.sentences)
    log(f"{len(clips)} clips ({sum(len(c.samples) / c.rate for c in clips):.0f} s of audio); "
        f"{args.rounds} rounds x {args.users} users x {args.clips} clips")  # fmt: skip

    began = time.monotonic()
    code = code_version()
    server = start_server(args, workdir)
    started_s = time.monotonic() - began
    rounds: list[dict] = []
    requests_total = 0
    errors: Counter = Counter()
    sig = getattr(signal, f"SIG{args.signal_each_round.upper().removeprefix('SIG')}", None) \
        if args.signal_each_round else None  # fmt: skip
    try:
        time.sleep(args.settle_s)
        baseline = {**server.memory(), **server.handles(), **server.files()}
        if sig is not None:
            server.process.send_signal(sig)
            time.sleep(args.settle_s)
            baseline["rss_after_signal_mb"] = server.memory(full=False)["rss_mb"]
        log(f"server up in {started_s:.1f} s at {server.url}: {baseline}")
        soak_began = time.monotonic()
        stopping = threading.Event()  # SIGINT/SIGTERM: finish the round, then report
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, lambda *_: stopping.set())
        for number in range(1, args.rounds + 1):
            if stopping.is_set():
                log(f"stopped before round {number}")
                break
            watcher = PeakWatcher(server)
            round_began = time.monotonic()
            tally = run_round(number, server, clips, clip_dir, args, request)
            round_s = time.monotonic() - round_began
            peak_rss_mb = watcher.stop()
            if server.process.poll() is not None:
                raise RuntimeError(f"the server died:\n{tail(server.log_path)}")
            time.sleep(args.settle_s)
            sent = tally.outcomes["ok"] + tally.outcomes["error"] + tally.outcomes["gave_up"]
            requests_total += sent
            errors.update(tally.errors)
            row = {
                "round": number,
                "requests": sent,
                "requests_total": requests_total,
                "sessions_total": number * args.users,
                **{
                    k: tally.outcomes[k]
                    for k in (
                        "ok",
                        "ok_rest",
                        "refused",
                        "gave_up",
                        "error",
                        "client_error",
                        "empty_text",
                        "repeated",
                        "varied",
                    )
                },  # fmt: skip
                "p50_s": percentile(tally.latencies, 0.5),
                "p95_s": percentile(tally.latencies, 0.95),
                "round_s": round(round_s, 1),
                "elapsed_s": round(time.monotonic() - soak_began, 1),
                **server.memory(),
                "peak_rss_mb": peak_rss_mb,
                **server.handles(),
                **server.files(),
            }
            row["peak_rss_mb"] = max(row["peak_rss_mb"], row["rss_mb"])
            if sig is not None:
                server.process.send_signal(sig)
                time.sleep(args.settle_s)
                row["rss_after_signal_mb"] = server.memory(full=False)["rss_mb"]
            rounds.append(row)
            log(
                f"round {number}/{args.rounds}: {sent} requests ({tally.outcomes['ok']} ok, "
                f"{tally.outcomes['refused']} refusals, {tally.outcomes['error']} errors) in "
                f"{round_s:.1f} s, p50 {row['p50_s']} s p95 {row['p95_s']} s; RSS "
                f"{row['rss_mb']:.0f} MB (anon {row['anon_mb']:.0f}, peak {row['peak_rss_mb']:.0f}"
                + (f", after signal {row['rss_after_signal_mb']:.0f}" if sig else "")
                + f"); uploads {row['upload_cache_files']}, session dirs {row['session_dirs']}"
            )
    finally:
        stop_server(server)
        server_log = tail(server.log_path, 4000)
        if not args.keep_tmp:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "benchmark": "soak",
        "label": args.label,
        "argv": sys.argv[1:],
        "config": {
            "rounds": args.rounds,
            "users_per_round": args.users,
            "clips_per_user": args.clips,
            "model": args.model,
            "server_env": args.env,
            "server_script": args.server_script or "app.py",
            "request": request.__dict__,
            "repeat_fraction": args.repeat_fraction,
            "retries": args.retries,
            "clips": [
                {"name": c.name, "seconds": round(len(c.samples) / c.rate, 2)} for c in clips
            ],  # fmt: skip
        },
        "code": code,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "gradio_client": gradio_client.__version__,
        },
        "server_start_s": round(started_s, 1),
        "duration_s": round(time.monotonic() - began, 1),
        "rounds_run": len(rounds),
        "baseline": baseline,
        "rounds": rounds,
        "errors": dict(errors.most_common(10)),
        "verdict": verdict(rounds, baseline, args.flat_mb_per_1000),
    }
    if errors or any(r["error"] or r["client_error"] for r in rounds):
        report["server_log_tail"] = server_log
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    log(report["verdict"].get("summary", "no rounds"))


if __name__ == "__main__":
    main()
