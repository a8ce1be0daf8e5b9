"""Tune the language model's weights (alpha, beta) and see what beam width buys.

    hyasr tune-lm --model demo --data build/speech/heldout-tune --write

(the command is cli/tune_lm.py; this module searches and writes attrs.json).

The acoustic model runs once per clip (`collect_logits`; with ``--logits-cache`` its
output is kept in an ``.npz`` file and reused while the model and the audio are the
same). The search then only decodes: for every (alpha, beta) of a grid it beam-searches
every clip with per-call `LMSettings` (the shared `LMDecoder` is never mutated) and scores
the text with `text.error_rates`, the card's corpus-level WER and CER. The grid is
searched with a narrow beam (32: beam search time grows with the width), and the
default grid has 9 x 11 points, so a 150-clip tune set costs 99 x 150 decodes: pass a
coarser grid (``--alphas 0:2:0.5 --betas=-1:4:1``) for a first look.

The best point has the lowest WER, then the lowest CER; among equals, the one nearest the
checkpoint's current settings wins, so a data set that cannot tell settings apart changes
nothing. At that point a second table decodes with each of several beam widths, timing
them, and recommends the narrowest beam whose WER is within ``--beam-tolerance`` of the
best in the table. ``--write`` stores alpha and beta in ``language_model/attrs.json``,
keeping its other keys; the beam width is the app's setting (``HYASR_BEAM_WIDTH``), not
written there, since pyctcdecode passes every attrs.json key to its ``LanguageModel``.

Parallelism: ``--jobs N`` decodes grid points in N forked processes that inherit the
loaded LM and the logits (nothing is pickled but the texts coming back); the beam-width
table always runs in one process, since it times the decoder. One job is the default:
on the 2-core development machines two jobs gained nothing reliable.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .audio import load_audio
from .decoding import GreedyDecoder
from .errors import DatasetError
from .evaluation import ProgressCallback, Utterance, evaluation_settings
from .lm import LMDecoder, LMSettings
from .results import Clip, Logits
from .runtime.checkpoints import WEIGHT_FILES
from .settings import LM_DIR
from .text import ErrorRates, error_rates
from .transcriber import Transcriber

DEFAULT_ALPHAS = "0:2:0.25"
DEFAULT_BETAS = "-1:4:0.5"
DEFAULT_BEAM_WIDTHS = "16,32,64,100,200"
# Beam search time grows with the beam; the grid is searched narrow, then the beam table
# checks the best point at every width.
DEFAULT_SEARCH_BEAM = 32
TUNE_SPLITS = ("metadata", "dev")  # never tune on a folder's test.tsv unless asked to
ATTRS_FILE = "attrs.json"
_CACHE_VERSION = 1


def parse_grid(text: str) -> tuple[float, ...]:
    """``"start:stop:step"`` (stop included) or a comma-separated list, as floats.

    Raises `ValueError` (argparse shows it as a usage error).
    """
    text = text.strip()
    if ":" in text:
        parts = [float(part) for part in text.split(":")]
        if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
            raise ValueError(f"expected start:stop:step with step > 0, not {text!r}")
        start, stop, step = parts
        count = math.floor((stop - start) / step + 1e-9) + 1
        return tuple(round(start + index * step, 6) for index in range(count))
    values = tuple(float(part) for part in text.split(",") if part.strip())
    if not values:
        raise ValueError("empty grid")
    return values


def parse_beam_widths(text: str) -> tuple[int, ...]:
    """A comma-separated list of beam widths, e.g. ``"16,32,64"``."""
    widths = tuple(int(part) for part in text.split(",") if part.strip())
    if not widths or min(widths) < 1:
        raise ValueError(f"expected positive integers, not {text!r}")
    return widths


@dataclass(frozen=True)
class TuneOptions:
    """What `tune_lm` searches: a grid of alpha x beta, then a list of beam widths."""

    alphas: tuple[float, ...] = parse_grid(DEFAULT_ALPHAS)
    betas: tuple[float, ...] = parse_grid(DEFAULT_BETAS)
    search_beam_width: int | None = DEFAULT_SEARCH_BEAM  # None: the base settings' beam
    beam_widths: tuple[int, ...] = parse_beam_widths(DEFAULT_BEAM_WIDTHS)
    beam_tolerance: float = 0.0  # absolute WER a narrower beam may lose
    jobs: int = 1

    def __post_init__(self) -> None:
        if not self.alphas or not self.betas:
            raise ValueError("the alpha and beta grids need at least one value each")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")


@dataclass(frozen=True)
class GridPoint:
    """WER and CER of the LM decoder at one (alpha, beta)."""

    alpha: float
    beta: float
    wer: float
    cer: float

    def to_dict(self) -> dict[str, float]:
        return {"alpha": self.alpha, "beta": self.beta, "wer": self.wer, "cer": self.cer}


@dataclass(frozen=True)
class BeamPoint:
    """Accuracy and decoding speed at one beam width."""

    beam_width: int
    wer: float
    cer: float
    decode_seconds: float
    rtf: float  # decode seconds per audio second (the acoustic model not included)

    def to_dict(self) -> dict[str, float]:
        return {
            "beam_width": self.beam_width,
            "wer": self.wer,
            "cer": self.cer,
            "decode_seconds": self.decode_seconds,
            "rtf": self.rtf,
        }


@dataclass(frozen=True)
class TuneReport:
    """The outcome of `tune_lm`."""

    utterances: int
    audio_seconds: float
    search_beam_width: int
    greedy: ErrorRates
    current: GridPoint  # the settings the search started from
    best: GridPoint
    grid: tuple[GridPoint, ...]
    beams: tuple[BeamPoint, ...]
    recommended_beam_width: int
    search_seconds: float
    jobs: int

    @property
    def best_settings(self) -> dict[str, float | int]:
        return {
            "alpha": self.best.alpha,
            "beta": self.best.beta,
            "beam_width": self.recommended_beam_width,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "utterances": self.utterances,
            "audio_seconds": round(self.audio_seconds, 3),
            "greedy": {"wer": self.greedy.wer, "cer": self.greedy.cer},
            "current": self.current.to_dict(),
            "best": self.best.to_dict(),
            "recommended_beam_width": self.recommended_beam_width,
            "search_beam_width": self.search_beam_width,
            "search_seconds": self.search_seconds,
            "jobs": self.jobs,
            "grid": [point.to_dict() for point in self.grid],
            "beams": [point.to_dict() for point in self.beams],
        }


@dataclass(frozen=True)
class LogitsSet:
    """The acoustic model's output for a data set, with what it took to get it."""

    names: tuple[str, ...]
    references: tuple[str, ...]
    logits: tuple[Logits, ...]
    audio_seconds: float
    forward_seconds: float  # 0 when every clip came from the cache
    from_cache: bool


def collect_logits(
    transcriber: Transcriber,
    dataset: Sequence[Utterance],
    cache: Path | None = None,
    progress: ProgressCallback | None = None,
) -> LogitsSet:
    """Run the acoustic model once per utterance, or read its output from `cache`.

    The cache (an ``.npz`` file) is used when it was written by the same model weights,
    device, dtype and chunking for the same audio (by content), and (re)written otherwise.
    """
    if not dataset:
        raise DatasetError("the data set has no utterances.")
    settings = evaluation_settings(transcriber.settings)
    clips = [load_audio(utterance.audio, settings) for utterance in dataset]
    names = tuple(utterance.name for utterance in dataset)
    references = tuple(utterance.sentence for utterance in dataset)
    audio_seconds = sum(clip.duration for clip in clips)
    key = _cache_key(transcriber, clips)
    if cache is not None and (cached := _read_cache(Path(cache), key)) is not None:
        return LogitsSet(names, references, cached, audio_seconds, 0.0, True)
    transcriber.warm_up()
    started = time.perf_counter()
    logits = []
    for index, clip in enumerate(clips):
        logits.append(transcriber.model.logits(clip))
        if progress is not None:
            progress(index + 1, len(clips))
    forward_seconds = time.perf_counter() - started
    if cache is not None:
        _write_cache(Path(cache), key, logits)
    return LogitsSet(names, references, tuple(logits), audio_seconds, forward_seconds, False)


def _cache_key(transcriber: Transcriber, clips: Sequence[Clip]) -> str:
    model = transcriber.model
    settings = model.settings  # the chunking the logits were made with
    digest = hashlib.blake2b(digest_size=16)
    parts = [model.name, model.device, model.dtype, settings.chunk_s, settings.chunk_context_s]
    for name in WEIGHT_FILES:
        path = model.path / name
        if path.is_file():
            stat = path.stat()
            parts += [name, stat.st_size, stat.st_mtime_ns]
    digest.update(repr(parts).encode())
    for clip in clips:
        digest.update(clip.fingerprint.encode())
    return f"v{_CACHE_VERSION}:{digest.hexdigest()}"


def _read_cache(path: Path, key: str) -> tuple[Logits, ...] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            frames = data["frames"]
            values = data["values"]
            step = float(data["seconds_per_frame"])
    except (OSError, KeyError, ValueError):
        return None
    bounds = np.concatenate([[0], np.cumsum(frames)])
    return tuple(
        Logits(values[start:end], step) for start, end in zip(bounds[:-1], bounds[1:], strict=True)
    )


def _write_cache(path: Path, key: str, logits: Sequence[Logits]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
        np.savez(
            handle,
            key=np.array(key),
            frames=np.array([item.frames for item in logits], dtype=np.int64),
            values=np.concatenate([item.values for item in logits]).astype(np.float32),
            seconds_per_frame=np.array(logits[0].seconds_per_frame),
        )
    os.replace(handle.name, path)


@dataclass(frozen=True)
class _GridWork:
    """What every grid point decodes: the decoder, the logits, the other settings."""

    decoder: LMDecoder
    logits: Sequence[Logits]
    base: LMSettings

    def __call__(self, point: tuple[float, float]) -> list[str]:
        settings = replace(self.base, alpha=point[0], beta=point[1])
        return [self.decoder.decode(item, settings).text for item in self.logits]


# A forked worker's work, handed over once by the pool's initializer (fork copies it, it
# is never pickled); each task then sends only a point and gets texts back.
_worker_work: _GridWork | None = None


def _start_worker(work: _GridWork) -> None:
    global _worker_work
    _worker_work = work


def _decode_in_worker(point: tuple[float, float]) -> list[str]:
    assert _worker_work is not None
    return _worker_work(point)


def _map_points(
    work: _GridWork, points: list[tuple[float, float]], jobs: int
) -> Iterator[list[str]]:
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return map(work, points)
    return _map_forked(work, points, jobs)


def _map_forked(
    work: _GridWork, points: list[tuple[float, float]], jobs: int
) -> Iterator[list[str]]:
    pool = multiprocessing.get_context("fork").Pool(jobs, _start_worker, (work,))
    try:
        # imap keeps the order; one point per task keeps every worker busy to the end.
        yield from pool.imap(_decode_in_worker, points, chunksize=1)
    finally:
        pool.terminate()


def tune_lm(
    decoder: LMDecoder,
    references: Sequence[str],
    logits: Sequence[Logits],
    options: TuneOptions | None = None,
    base: LMSettings | None = None,
    progress: ProgressCallback | None = None,
) -> TuneReport:
    """Grid-search alpha and beta on `logits` against `references`, then time beam widths.

    `base` supplies every other beam search setting and the starting point (default:
    the decoder's checkpoint settings). Raises `ValueError` on mismatched inputs.
    """
    options = options or TuneOptions()
    base = base or decoder.defaults
    if options.search_beam_width is not None:
        base_for_search = replace(base, beam_width=options.search_beam_width)
    else:
        base_for_search = base
    if len(references) != len(logits) or not logits:
        raise ValueError(f"{len(references)} references for {len(logits)} logits")
    # Log-softmax once here instead of once per decode (log_probs of log-probs is the same).
    prepared = [
        Logits(decoder.vocabulary.log_probs(item), item.seconds_per_frame) for item in logits
    ]
    audio_seconds = sum(item.duration for item in prepared)
    greedy_decoder = GreedyDecoder(decoder.vocabulary)
    greedy = error_rates(references, [greedy_decoder.decode(item).text for item in prepared])

    points = [(alpha, beta) for alpha in options.alphas for beta in options.betas]
    current = (base.alpha, base.beta)
    if current not in points:
        points.append(current)
    started = time.perf_counter()
    scored: dict[tuple[float, float], GridPoint] = {}
    work = _GridWork(decoder, prepared, base_for_search)
    for index, (point, texts) in enumerate(
        zip(points, _map_points(work, points, options.jobs), strict=True)
    ):
        rates = error_rates(references, texts)
        scored[point] = GridPoint(point[0], point[1], rates.wer, rates.cer)
        if progress is not None:
            progress(index + 1, len(points))
    search_seconds = time.perf_counter() - started

    def rank(point: GridPoint) -> tuple[float, ...]:
        distance = abs(point.alpha - base.alpha) + abs(point.beta - base.beta)
        return (point.wer, point.cer, distance, point.alpha, point.beta)

    grid = tuple(scored[point] for point in points if point in scored)
    best = min(grid, key=rank)
    beams = []
    for width in options.beam_widths:
        settings = replace(base, alpha=best.alpha, beta=best.beta, beam_width=width)
        began = time.perf_counter()
        texts = [decoder.decode(item, settings).text for item in prepared]
        seconds = time.perf_counter() - began
        rates = error_rates(references, texts)
        beams.append(BeamPoint(width, rates.wer, rates.cer, seconds, seconds / audio_seconds))
    lowest = min(point.wer for point in beams) if beams else best.wer
    recommended = min(
        (point.beam_width for point in beams if point.wer <= lowest + options.beam_tolerance),
        default=base_for_search.beam_width,
    )
    return TuneReport(
        utterances=len(references),
        audio_seconds=audio_seconds,
        search_beam_width=base_for_search.beam_width,
        greedy=greedy,
        current=scored[current],
        best=best,
        grid=grid,
        beams=tuple(beams),
        recommended_beam_width=recommended,
        search_seconds=search_seconds,
        jobs=options.jobs,
    )


def write_lm_attrs(model_dir: Path, alpha: float, beta: float) -> Path:
    """Set alpha and beta in ``<model_dir>/language_model/attrs.json``, keeping other keys.

    The file is replaced atomically (a symlinked attrs.json becomes a plain file; the
    file it pointed to is left alone).
    """
    path = Path(model_dir) / LM_DIR / ATTRS_FILE
    attrs: dict[str, Any] = {}
    if path.is_file():
        attrs = json.loads(path.read_text(encoding="utf-8"))
    attrs.update(alpha=alpha, beta=beta)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".json", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(json.dumps(attrs, indent=2) + "\n")
    os.replace(handle.name, path)
    return path


def format_tune_text(report: TuneReport) -> str:
    """The grid (WER per alpha row and beta column), the beam table and the verdict."""
    betas = sorted({point.beta for point in report.grid})
    alphas = sorted({point.alpha for point in report.grid})
    by_point = {(point.alpha, point.beta): point for point in report.grid}
    lines = [
        f"{report.utterances} utterances, {report.audio_seconds:.1f} s of audio; "
        f"greedy WER {report.greedy.wer:.2%}, CER {report.greedy.cer:.2%}",
        "",
        f"WER by alpha (rows) and beta (columns), beam {report.search_beam_width}:",
        "alpha\\beta " + "".join(f"{beta:>8g}" for beta in betas),
    ]
    for alpha in alphas:
        cells = []
        for beta in betas:
            point = by_point.get((alpha, beta))
            mark = "*" if point is report.best else " "
            cells.append(f"{point.wer:>7.2%}{mark}" if point else f"{'':>8}")
        lines.append(f"{alpha:<10g} " + "".join(cells))
    lines += [
        "",
        f"{'beam':>6} {'WER':>8} {'CER':>8} {'decode s':>9} {'RTF':>8}",
        *(
            f"{point.beam_width:>6} {point.wer:>8.2%} {point.cer:>8.2%} "
            f"{point.decode_seconds:>9.2f} {point.rtf:>8.4f}"
            for point in report.beams
        ),
        "",
        f"current: alpha {report.current.alpha:g}, beta {report.current.beta:g}: "
        f"WER {report.current.wer:.2%}, CER {report.current.cer:.2%}",
        f"best:    alpha {report.best.alpha:g}, beta {report.best.beta:g}: "
        f"WER {report.best.wer:.2%}, CER {report.best.cer:.2%}",
        f"beam:    {report.recommended_beam_width} (narrowest within "
        f"the best WER of the beam table)",
        f"search:  {len(report.grid)} settings in {report.search_seconds:.1f} s "
        f"({report.jobs} job{'s' if report.jobs > 1 else ''})",
    ]
    return "\n".join(lines)
