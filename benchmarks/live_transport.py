"""Live captions' transport in a real browser, idle and on a busy server (issue 21).

    python -m benchmarks.live_transport                  # 60 s, idle and loaded
    python -m benchmarks.live_transport --seconds 30 --scenarios loaded

Chromium (pinned to one core with taskset) plays `--seconds` of held-out speech (the
espeak-ng voices of benchmarks.bench_common.speech, which the demo model never heard)
through its fake microphone into the Live tab of the real app (the server pinned to the
other core, the bundled demo model with its LM); the page's socket is dropped once at
40 % of the clip and reconnects. "loaded": two other clients transcribe 20 s files with
the LM in a loop (gradio_client) meanwhile, as other people using a 2-vCPU Space would.

Reported per scenario: whether the server heard every sample the page captured, how the
heard audio matches the clip (speech span lengths, correlation at 48 kHz), the live
result's CER against a file transcription of the heard audio and of the clip, the
partial latency (capture of the last sample a text covers to its arrival in the page:
p50 / p95 / max), the chunk acknowledgement time (page -> server -> page, while the
server's other threads run the network and the beam search), and how far behind the
page fell and when it caught up. Prints one JSON document; run under the shared lock.
The old transport (Gradio's streaming microphone) is gone; its numbers on this scenario
are in docs/live-captions-transport.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live_load import (  # noqa: E402
    RECORDING_URL,
    Busy,
    behind_summary,
    chromium_on_core,
    compare,
    cores,
    percentiles,
    pinned_process,
    record_live,
)
from servers import app_settings, serve  # noqa: E402

from benchmarks.bench_common import log, machine, speech  # noqa: E402
from hyasr_space import Transcriber  # noqa: E402
from hyasr_space.settings import Settings  # noqa: E402
from hyasr_space.text import error_rates  # noqa: E402

LEAD_S, TAIL_S = 0.6, 2.0
CHROMIUM = Path(os.environ.get("HYASR_TEST_CHROMIUM", "/usr/bin/chromium"))


def scenario(clip_path: Path, loaded: bool, folder: Path) -> dict[str, Any]:
    from playwright import sync_api
    from test_browser import CHROMIUM_ARGS

    clip, _ = soundfile.read(clip_path, dtype="float32")
    duration_s = len(clip) / 16_000
    available = cores()
    browser_core = available[0] if len(available) > 1 else None
    server_core = available[1] if len(available) > 1 else None
    settings = app_settings(
        Settings().demo_model_dir, live_time_limit_s=duration_s + 60, max_duration_s=120.0,
        max_file_size_mb=20.0,
    )  # fmt: skip
    examples = sorted(Settings().examples_dir.glob("hy-heldout-*.wav"))
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={clip_path}%noloop",
    ]
    executable = chromium_on_core(CHROMIUM, browser_core, folder)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=args)
        with pinned_process(server_core), serve(settings) as url:
            context = chromium.new_context(permissions=["microphone"])
            context.set_default_timeout(600_000)
            page = context.new_page()
            page.goto(url)
            page.get_by_role("tab", name="Live").click()
            busy = Busy(url, examples, folder).start() if loaded else None
            try:
                if busy:
                    page.wait_for_timeout(3000)
                started = time.monotonic()
                record_live(page, duration_s, drop_at_s=0.4 * duration_s)
                page.get_by_role("button", name="Stop", exact=True).click()
                page.get_by_text("s of audio, decoded in").wait_for()
                stopped_to_result_s = time.monotonic() - started - duration_s - 0.5
            finally:
                if busy:
                    busy.stop()
            final = page.locator("label", has_text="Transcript").locator("textarea")
            final = final.filter(visible=True).input_value()
            stats = page.evaluate("() => window.hyasrLive.stats")
            heard_path = folder / f"heard-{'loaded' if loaded else 'idle'}.wav"
            heard_path.write_bytes(page.request.get(page.evaluate(RECORDING_URL)).body())
            context.close()
        chromium.close()
    heard, _ = soundfile.read(heard_path, dtype="float32")
    demo = Transcriber.load("demo")
    from_heard = demo.transcribe(heard_path).best.text
    from_clip = demo.transcribe(clip_path).best.text
    latencies = [p["latency_ms"] for p in stats["partials"] if p["latency_ms"] is not None]
    return {
        "clip_s": round(duration_s, 2),
        "other_clients_transcriptions": busy.done if busy else 0,
        "other_clients_errors": busy.errors if busy else [],
        "captured_samples": stats["captured"],
        "heard_samples": len(heard),
        "every_sample_heard": len(heard) == stats["captured"],
        "heard_vs_clip": compare(clip, heard),
        "reconnects": stats["reconnects"],
        "live_vs_file_of_heard_cer": round(error_rates([from_heard], [final]).cer, 4),
        "live_equals_file_of_heard": final == from_heard,
        "file_of_heard_vs_file_of_clip_cer": round(error_rates([from_clip], [from_heard]).cer, 4),
        "partial_latency_ms": percentiles(latencies),
        "ack_ms": percentiles(stats["acks"]),
        **behind_summary(stats),
        "stop_to_result_s": round(stopped_to_result_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scenarios", nargs="+", choices=("idle", "loaded"),
                        default=["idle", "loaded"])  # fmt: skip
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hyasr-live-bench-") as tmp:
        folder = Path(tmp)
        samples = speech(args.seconds)
        padded = np.concatenate(
            [np.zeros(int(LEAD_S * 16_000)), samples, np.zeros(int(TAIL_S * 16_000))]
        )
        clip_path = folder / "speech.wav"
        soundfile.write(clip_path, padded, 16_000, subtype="PCM_16")
        for name in args.scenarios:
            log(f"live transport: {name}")
            with contextlib.redirect_stdout(sys.stderr):  # Gradio prints its URL
                report[name] = scenario(clip_path, name == "loaded", folder)
            log(f"{name}: {report[name]}")
    report["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
