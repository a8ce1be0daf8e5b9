"""The Ray Data pipeline of `hyasr batch`: items -> audio -> logits -> text -> DIR.

    ray.data.from_arrow(items)                     the inputs, a few rows a block
      .map_batches(read_audio)                     Ray tasks: decode to 16 kHz (CPU)
      .map_batches(AcousticStage, N actors)        the network, loaded once per actor
      .map_batches(DecoderStage, M actors)         greedy / KenLM beam search, CPU
      .iter_batches()                              the driver writes parts (output.py)

This is the batch-inference shape Ray Data documents (`map_batches` with a callable
class per model stage, `compute=ActorPoolStrategy(size=n)` for the actor pool,
`num_gpus` for GPU actors).
Ray Data streams: blocks flow through the stages as they are ready, and its
backpressure keeps only a bounded number in flight, so memory does not grow with the
corpus. Ray restarts a killed actor and retries its batch (Ray Data gives actor pools
``max_restarts=-1`` and ``max_task_retries=-1``; read tasks are retried too); a batch
reaches the driver once, and the driver writes each input's row once.

The driver, not a `write_parquet` stage, writes the rows: results are a few kilobytes
per file, writing them where the summary is made costs nothing, and each part can be
renamed into place whole, which is what makes an interrupted run resumable row by row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..constants import LM
from ..errors import ModelUnavailableError
from ..evaluation import evaluation_settings
from ..runtime.checkpoints import ModelSource, resolve_model
from ..settings import Settings
from ..subtitles import CaptionLimits
from .inputs import Item, list_inputs
from .output import OutputDir
from .summary import Summary, summarize, write_summary
from .workers import WorkerPlan, plan_workers

log = logging.getLogger(__name__)

# Inputs per read task: few, so reading spreads over the workers and a retried task
# redoes little; but at most MAX_INPUT_BLOCKS blocks, each an object the driver puts in
# Ray's object store (3.6 million clips of 10 s, 10,000 hours, make 1,000 blocks).
ITEMS_PER_BLOCK = 4
MAX_INPUT_BLOCKS = 1000
# One row a decoder call: a row is decoded as soon as its logits exist (batching rows
# would hold finished logits back until the batch fills, which on a short run left the
# last batch's beam searches to run after the network had finished).
DECODER_BATCH_ROWS = 1
# The driver gathers rows into parts of this many rows, or what came in this many
# seconds: few files for a big corpus, little to redo after an interruption.
PART_ROWS = 1000
PART_SECONDS = 30.0


@dataclass(frozen=True)
class BatchOptions:
    """What to run: the model and decoding options of `hyasr transcribe`, the outputs,
    and the workers (None: from the cluster's resources, workers.py)."""

    model: str | None = None
    revision: str | None = None
    settings: Settings = field(default_factory=Settings)
    decoder: str = LM
    lm_overrides: dict[str, Any] = field(default_factory=dict)
    limits: CaptionLimits = field(default_factory=CaptionLimits)
    max_duration_s: float | None = None  # None: `hyasr eval`'s trusted-input limit
    subtitles: tuple[str, ...] = ()
    jsonl: bool = False
    split: str | None = None
    audio_column: str | None = None
    acoustic_workers: int | None = None
    acoustic_threads: int | None = None
    decoder_workers: int | None = None
    address: str | None = None


def run_batch(
    inputs: Sequence[str],
    out: Path,
    options: BatchOptions,
    *,
    on_rows: Callable[[int, int], None] | None = None,
) -> Summary:
    """Transcribe every input not yet in `out`; the summary of all of them.

    `on_rows(done, total)` follows the rows written. Raises `DatasetError` (inputs),
    `ModelUnavailableError`, `InvalidRequestError` (options, or DIR made with other
    settings) before anything runs.
    """
    items = list_inputs(inputs, split=options.split, audio_column=options.audio_column)
    settings = batch_settings(options)
    source = resolve_source(options, settings)
    described = describe_settings(options, settings, source)
    settings_hash = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
    output = OutputDir(out)
    output.claim(settings_hash, described)
    done = output.done()
    todo = [item for item in items if item.identity not in done]
    started = time.perf_counter()
    plan = None
    if todo:
        plan = _run_pipeline(todo, output, options, settings, source, settings_hash, on_rows)
    wall = time.perf_counter() - started
    identities = {item.identity for item in items}
    if options.jsonl:
        output.write_jsonl(identities)
    summary = summarize(
        output,
        identities,
        skipped=len(items) - len(todo),
        run_identities={item.identity for item in todo},
        wall_seconds=wall if todo else 0.0,
        model=source.label,
        workers=plan.to_dict() if plan else {},
    )
    write_summary(summary, output.root / "summary.json")
    return summary


def batch_settings(options: BatchOptions) -> Settings:
    """The command's settings with `hyasr eval`'s limits for trusted input (an hour, 1 GB)
    or --max-duration-s; one-shot: no background int8 export (the driver makes it)."""
    settings = replace(evaluation_settings(options.settings), background_export=False)
    if options.max_duration_s is not None:
        settings = replace(settings, max_duration_s=options.max_duration_s)
    return settings


def resolve_source(options: BatchOptions, settings: Settings) -> ModelSource:
    """The checkpoint every worker loads. Only the default model falls back to the demo
    model (as `hyasr transcribe`): rows must name the model that made them."""
    ref = options.model or settings.model
    try:
        return resolve_model(ref, options.revision, settings)
    except ModelUnavailableError as error:
        fallback = settings.fallback_model
        if options.model is not None or not fallback:
            raise
        log.warning("%s Falling back to %s.", error, fallback)
        return resolve_model(fallback, None, settings)


def prepare_int8(source: ModelSource, settings: Settings) -> None:
    """Make the int8 export once, here, when int8 is what serves (`--dtype int8`, or
    `auto` on a CPU that it pays on, precision.py) and it is not cached: every acoustic
    actor then loads it instead of exporting it at once (each export of XLS-R 1B takes
    minutes and about 12 GB), or serving the slower interim dtype for the whole run.
    The cache is this machine's (HYASR_CACHE_DIR): on a cluster, point it at shared
    storage or the other nodes make their own."""
    from ..runtime.int8 import int8_model_path, is_cached
    from ..runtime.policy import pick_precision

    precision = pick_precision(settings.dtype, "cpu", source.path, settings)
    if precision.dtype == "int8" and not is_cached(source.path, settings.cache_dir):
        log.warning("exporting %s to int8 once before the run (minutes)", source.label)
        int8_model_path(source.path, settings.cache_dir)


def describe_settings(
    options: BatchOptions, settings: Settings, source: ModelSource
) -> dict[str, Any]:
    """Everything that changes a row: what the settings hash is made of."""
    return {
        "model": source.label,
        "model_path": str(source.path) if source.kind != "hub" else None,
        "revision": source.revision,
        "device": settings.device,
        "dtype": settings.dtype,
        "decoder": options.decoder,
        "lm": {k: v for k, v in sorted(options.lm_overrides.items()) if v is not None},
        "captions": asdict(options.limits),
        "chunk_s": settings.chunk_s,
        "chunk_context_s": settings.chunk_context_s,
        "max_duration_s": settings.max_duration_s,
        "beam": [settings.beam_width, settings.beam_prune_logp, settings.token_min_logp],
        "lm_segments": [settings.lm_segment_s, settings.lm_silence_s],
    }


def _model_ref(source: ModelSource) -> tuple[str, str | None]:
    """How a worker names the checkpoint: the Hub id at the resolved commit, or the path."""
    if source.kind == "hub":
        return source.ref, source.revision
    return str(source.path.resolve()), None


def _run_pipeline(
    todo: list[Item],
    output: OutputDir,
    options: BatchOptions,
    settings: Settings,
    source: ModelSource,
    settings_hash: str,
    on_rows: Callable[[int, int], None] | None,
) -> WorkerPlan:
    from .ray_setup import start_ray

    ray = start_ray(options.address)
    if settings.device == "cpu" or not ray.cluster_resources().get("GPU"):
        prepare_int8(source, settings)
    plan = plan_workers(
        ray.cluster_resources(),
        acoustic=options.acoustic_workers,
        decoders=options.decoder_workers,
        threads=options.acoustic_threads,
        device=settings.device,
    )
    log.info("workers: %s", plan)
    dataset = build_dataset(todo, options, settings, source, settings_hash, plan)
    done = 0
    with PartWriter(output) as parts:
        for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            if table.num_rows == 0:
                continue
            if options.subtitles:
                output.write_subtitles(table, options.subtitles, options.limits)
            parts.add(table)
            done += table.num_rows
            if on_rows is not None:
                on_rows(done, len(todo))
    return plan


class PartWriter:
    """Rows into DIR/parts, a part per `PART_ROWS` rows or `PART_SECONDS`; on leaving
    (an interruption included) the rows gathered so far are written: they are whole."""

    def __init__(self, output: OutputDir) -> None:
        self.output = output
        self.pending: list[Any] = []
        self.rows = 0
        self.since = time.monotonic()

    def add(self, table: Any) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= PART_ROWS or time.monotonic() - self.since >= PART_SECONDS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            self.output.write_part(pa.concat_tables(self.pending))
        self.pending, self.rows, self.since = [], 0, time.monotonic()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.flush()


def build_dataset(
    todo: list[Item],
    options: BatchOptions,
    settings: Settings,
    source: ModelSource,
    settings_hash: str,
    plan: WorkerPlan,
):
    """The lazy Ray Dataset of output rows (nothing runs until it is iterated)."""
    import pyarrow as pa
    import ray.data

    from .stages import AcousticStage, DecoderStage, read_audio

    table = pa.Table.from_pylist([item.to_dict() for item in todo])
    size = max(ITEMS_PER_BLOCK, -(-len(todo) // MAX_INPUT_BLOCKS))
    blocks = [table.slice(i, size) for i in range(0, len(todo), size)]
    model, revision = _model_ref(source)
    return (
        ray.data.from_arrow(blocks)
        .map_batches(
            read_audio,
            batch_size=1,
            batch_format="pyarrow",
            fn_kwargs={"settings": settings},
            num_cpus=plan.read_cpus,
        )
        .map_batches(
            AcousticStage,
            batch_size=plan.acoustic_batch_rows,
            batch_format="pyarrow",
            fn_constructor_args=(model, revision, settings, plan.acoustic_threads),
            compute=ray.data.ActorPoolStrategy(size=plan.acoustic_workers),
            num_cpus=plan.acoustic_cpus,
            num_gpus=plan.acoustic_gpus or None,
        )
        .map_batches(
            DecoderStage,
            batch_size=DECODER_BATCH_ROWS,
            batch_format="pyarrow",
            fn_constructor_args=(
                model,
                revision,
                settings,
                options.decoder,
                options.lm_overrides,
                options.limits,
                settings_hash,
                source.label,
                source.revision,
            ),
            compute=ray.data.ActorPoolStrategy(size=plan.decoder_workers),
            num_cpus=plan.decoder_cpus,
        )
    )
