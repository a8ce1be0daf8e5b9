"""What the doors for programs and agents cost on top of the page's API: one held-out clip
sent again and again, one call at a time, through each door of the same served app.

    python -m benchmarks.programs_overhead                  # the bundled demo model
    python -m benchmarks.programs_overhead --rounds 20 --clip examples/hy-heldout-m3.wav

Doors: gradio_client's `/transcribe` (the stock way, the baseline), the OpenAI-compatible
route with the `openai` client (the upload is submitted into Gradio's queue through a
loopback gradio_client), and the MCP tool `transcribe_audio` with the `mcp` SDK (the
audio as a data: URL; Gradio's MCP server also submits through a loopback client). The
logits of the clip are cached after the first call, so every figure is transport, queue
and LM decoding: the doors differ only in what they add. The texts must agree.

Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--clip", type=Path, default=ROOT / "examples" / "hy-heldout-f3.wav")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    from gradio_client import Client, handle_file
    from openai import OpenAI

    from hyasr_space.settings import Settings
    from hyasr_space.web import build_demo, launch

    settings = replace(Settings(), model="demo", fallback_model=None, examples_dir=ROOT / "none")
    demo = build_demo(settings)
    with socket.socket() as probe:  # a free port: other servers may hold Gradio's 7860
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch(demo, settings, host="127.0.0.1", port=port, prevent_thread_lock=True)
    url = demo.local_url
    try:
        page = Client(url, verbose=False)
        rest = OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0)
        data_url = "data:audio/wav;base64," + base64.b64encode(args.clip.read_bytes()).decode()

        def via_page() -> str:
            return page.predict(handle_file(str(args.clip)), api_name="/transcribe")[0]

        def via_rest() -> str:
            with args.clip.open("rb") as audio:
                return rest.audio.transcriptions.create(model="whisper-1", file=audio).text

        doors = {"gradio_client /transcribe": via_page, "openai /v1": via_rest}
        times: dict[str, list[float]] = {}
        texts: dict[str, str] = {}
        for name, call in doors.items():
            texts[name] = call()  # the first call also fills the logits cache
            times[name] = []
            for _ in range(args.rounds):
                began = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - began)
        texts["mcp transcribe_audio"], times["mcp transcribe_audio"] = asyncio.run(
            _mcp_rounds(url, data_url, args.rounds)
        )
    finally:
        demo.close()

    baseline = statistics.median(times["gradio_client /transcribe"])
    report = {
        "benchmark": "programs_overhead",
        "clip": args.clip.name,
        "rounds": args.rounds,
        "load_average": os.getloadavg()[0],
        "texts_agree": len(set(texts.values())) == 1,
        "doors": {
            name: {
                "median_s": round(statistics.median(seconds), 4),
                "max_s": round(max(seconds), 4),
                "median_over_baseline_s": round(statistics.median(seconds) - baseline, 4),
            }
            for name, seconds in times.items()
        },
    }
    json.dump(report, sys.stdout, indent=2)
    print()


async def _mcp_rounds(url: str, data_url: str, rounds: int) -> tuple[str, list[float]]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with (
        streamablehttp_client(f"{url}gradio_api/mcp/") as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        arguments = {"audio_url": data_url}
        first = await session.call_tool("transcribe_audio", arguments)
        text = json.loads(first.content[0].text)["text"]
        seconds = []
        for _ in range(rounds):
            began = time.perf_counter()
            await session.call_tool("transcribe_audio", arguments)
            seconds.append(time.perf_counter() - began)
    return text, seconds


if __name__ == "__main__":
    main()
