"""Several models: the curated list with what each one's card says, and a pool that
keeps at most `Settings.max_loaded_models` of them loaded.

`offered_models(settings)` is the list a person chooses from (the Space's model first,
then `HYASR_MODELS`, then the bundled demo model). `model_info(ref)` gives a model's size,
licence (non-commercial ones flagged) and headline figures, each labelled by split and
decoder as the card viewer labels them (card/); the figures are the card's own, never
measured here. `ModelPool` loads a model on first use, outside any lock other requests
wait on, and unloads the least recently used idle one when more than the limit are
loaded; a model that cannot be loaded raises `ModelUnavailableError` and unloads nothing,
so whatever served before keeps serving. Each loaded model gets the precision policy and
the int8 export cache of runtime/ (per checkpoint), as a single model does.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .card import Metric, ModelCardReport, load_card_report
from .errors import InvalidRequestError, ModelUnavailableError
from .runtime.caches import Registry
from .runtime.loading import unload_model
from .settings import DEMO_MODEL, Settings
from .transcriber import Transcriber

log = logging.getLogger(__name__)

# Licences that forbid commercial use: Creative Commons "NC" variants and the like.
_NONCOMMERCIAL = re.compile(r"(?:^|[-_ ])nc(?:[-_ ]|$)|non[-_ ]?commercial|research", re.I)
_WER = re.compile(r"(?<![a-z])wer(?![a-z])", re.I)
_SPLIT_ORDER = {"test": 0, "validation": 1}
_DECODER_ORDER = {"LM": 0, "greedy": 1}


@dataclass(frozen=True)
class ModelInfo:
    """What the list shows of one model; `figures` are its card's WERs, best-founded first."""

    ref: str
    license: str | None
    noncommercial: bool
    parameters: int | None  # from its config.json (None when not at hand)
    architecture: str | None
    figures: tuple[Metric, ...]
    card_source: str  # where the card came from (card.report's SOURCE_*)

    @property
    def size(self) -> str:
        if self.parameters is None:
            return "size unknown"
        if self.parameters >= 1e9:
            return f"{self.parameters / 1e9:.2f} B parameters"
        if self.parameters >= 1e6:
            return f"{self.parameters / 1e6:.0f} M parameters"
        return f"{self.parameters / 1e3:.0f} k parameters"

    @property
    def headline(self) -> str:
        """The best-founded WER as the card states it, e.g. "WER 27.56 % (Common Voice
        test, LM; the card's figure)"."""
        if not self.figures:
            return "no WER on its card"
        figure = self.figures[0]
        dataset = _short_dataset(figure.dataset)
        where = f"{dataset} {figure.split}".strip()
        value = figure.value
        shown = f"{value * 100:.2f} %" if isinstance(value, float) and value <= 1.5 else value
        return f"WER {shown} ({where}, {figure.decoder}; the card's figure)"

    @property
    def license_text(self) -> str:
        if not self.license:
            return "licence not stated"
        return f"{self.license} (NON-COMMERCIAL)" if self.noncommercial else self.license

    def describe(self) -> str:
        """One line: name, size, licence, headline figure."""
        return f"{self.ref} · {self.size} · {self.license_text} · {self.headline}"


def offered_models(settings: Settings) -> tuple[str, ...]:
    """The models to choose from: the Space's own, `settings.models`, the demo model."""
    names = [settings.model, *settings.models]
    if settings.demo_model_dir.is_dir():
        names.append(DEMO_MODEL)
    return tuple(dict.fromkeys(name for name in names if name))


# What programs written for OpenAI's API send as `model` (its speech-to-text models,
# https://platform.openai.com/docs/models): each means "the Space's model".
GENERIC_MODEL_NAMES = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe-diarize",
    "default",
)


class UnknownModelError(InvalidRequestError):
    """A program asked for a model this app does not offer."""

    def __init__(self, requested: str, offered: tuple[str, ...]):
        self.requested, self.offered = requested, offered
        super().__init__(
            f"The model {requested!r} is not offered here. Offered: "
            f"{', '.join(repr(name) for name in offered)}; "
            f"{', '.join(repr(n) for n in GENERIC_MODEL_NAMES)} or none mean the first."
        )


def requested_model(requested: str | None, settings: Settings, served: str | None = None) -> str:
    """The offered model a program's `model` names: "" for the Space's own (none given,
    one of `GENERIC_MODEL_NAMES`, its id, or `served`, the name of the model actually
    serving as the default); raises `UnknownModelError` for any other name, so that a
    caller can never make the app download a model that is not on the list."""
    name = (requested or "").strip()
    if not name or name in GENERIC_MODEL_NAMES or name in (settings.model, served):
        return ""
    offered = offered_models(settings)
    if name in offered:
        return name
    raise UnknownModelError(name, offered)


def is_noncommercial(license_id: str | None) -> bool:
    return bool(license_id) and bool(_NONCOMMERCIAL.search(license_id or ""))


def model_info(ref: str, settings: Settings | None = None) -> ModelInfo:
    """A model's size, licence and card figures. Never raises: what cannot be read is
    "unknown" (the card viewer's report says why)."""
    settings = settings or Settings()
    card_ref: str | Path = settings.demo_model_dir if ref == DEMO_MODEL else ref
    report = load_card_report(card_ref, settings=settings)
    config = _config(card_ref, report)
    return ModelInfo(
        ref=ref,
        license=report.license,
        noncommercial=is_noncommercial(report.license),
        parameters=_PARAMETERS.get_or_create(
            (str(card_ref), report.commit), lambda: _count_parameters(config)
        ),
        architecture=str(config.get("model_type", "wav2vec2")) if config else None,
        figures=headline_figures(report),
        card_source=report.source,
    )


def headline_figures(report: ModelCardReport) -> tuple[Metric, ...]:
    """The card's WER figures, test before validation and LM before greedy."""
    figures = [m for m in report.metrics if _WER.search(m.name) and not isinstance(m.value, str)]
    return tuple(
        sorted(
            figures,
            key=lambda m: (_SPLIT_ORDER.get(m.split, 2), _DECODER_ORDER.get(m.decoder, 2)),
        )
    )


def _short_dataset(dataset: str) -> str:
    if "common_voice" in dataset.lower():
        version = re.search(r"(\d+)(?:_(\d+))?$", dataset)
        return f"Common Voice {version.group(1)}" if version else "Common Voice"
    return dataset.rsplit("/", 1)[-1]


def _config(ref: str | Path, report: ModelCardReport) -> dict | None:
    """config.json from a local directory, or from the Hub's cache (downloaded when the
    Hub answers: a few KB)."""
    import json

    path = Path(ref)
    if path.is_dir():
        file = path / "config.json"
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None
    if "config.json" not in report.files and report.source != "unavailable":
        return None
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    from .runtime import hub

    cached = try_to_load_from_cache(str(ref), "config.json", revision=report.commit)
    if isinstance(cached, str):
        return json.loads(Path(cached).read_text(encoding="utf-8"))
    if hub.offline() or not report.available:
        return None
    try:
        file = hf_hub_download(str(ref), "config.json", revision=report.commit)
    except Exception as error:  # the size is then unknown; the list still shows the model
        log.warning("config.json of %s: %s", ref, error)
        return None
    return json.loads(Path(file).read_text(encoding="utf-8"))


def _count_parameters(config: dict | None) -> int | None:
    """Parameters of the network a config describes, built on torch's meta device (no
    memory, no weights)."""
    if not config:
        return None
    try:
        import torch
        from transformers import CONFIG_MAPPING

        from .runtime.features import model_classes

        kind = str(config.get("model_type", "wav2vec2"))
        network_class, _ = model_classes(kind)
        with torch.device("meta"):
            network = network_class(CONFIG_MAPPING[kind].from_dict(config))
        return sum(parameter.numel() for parameter in network.parameters())
    except Exception as error:  # an odd config: the size is unknown, nothing more
        log.warning("could not size %s: %s", config.get("_name_or_path"), error)
        return None


_PARAMETERS: Registry[tuple[str, str | None], int | None] = Registry("model sizes")


class ModelPool:
    """Transcribers by model name, at most `settings.max_loaded_models` loaded.

    `use(ref)` lends one for the length of a request; a model lent out is never
    unloaded under it. Loading takes only its own model's lock, so requests on other
    models go on meanwhile; two requests for the same new model wait for one load.
    """

    def __init__(
        self,
        settings: Settings,
        load: Callable[[str], Transcriber] | None = None,
        pinned: int = 0,
    ) -> None:
        self.settings = settings
        # Models held outside the pool that count towards the limit (the app's own).
        self.pinned = pinned
        self._load = load or (lambda ref: Transcriber.load(ref, None, settings))
        self._loaded: OrderedDict[str, Transcriber] = OrderedDict()
        self._lent: Counter[str] = Counter()
        self._lock = threading.Lock()  # held for bookkeeping only, never while loading
        self._loading: dict[str, threading.Lock] = {}

    def add(self, ref: str, transcriber: Transcriber) -> None:
        """Hold an already loaded transcriber (the app's default model)."""
        with self._lock:
            self._loaded[ref] = transcriber
            self._loaded.move_to_end(ref)

    def loaded(self) -> list[str]:
        """The names of the loaded models, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def is_loaded(self, ref: str) -> bool:
        with self._lock:
            return ref in self._loaded

    def get(self, ref: str) -> Transcriber:
        """The transcriber of `ref`, loaded now if need be (then the least recently used
        idle model may go). Raises `ModelUnavailableError`; nothing is unloaded then."""
        with self._lock:
            if ref in self._loaded:
                self._loaded.move_to_end(ref)
                return self._loaded[ref]
            lock = self._loading.setdefault(ref, threading.Lock())
        with lock:  # one load per model; other models are not held up
            with self._lock:
                if ref in self._loaded:
                    self._loaded.move_to_end(ref)
                    return self._loaded[ref]
            transcriber = self._load(ref)
            with self._lock:
                self._loaded[ref] = transcriber
                self._loaded.move_to_end(ref)
                evicted = self._evictable(keep=ref)
            for name, old in evicted:
                log.info("unloading %s (%d models loaded at most)", name, self._limit)
                _unload(old)
            return transcriber

    @contextmanager
    def use(self, ref: str) -> Iterator[Transcriber]:
        """`get(ref)`, kept loaded until the block ends."""
        with self._lock:
            self._lent[ref] += 1
        try:
            yield self.get(ref)
        finally:
            with self._lock:
                self._lent[ref] -= 1
                if self._lent[ref] <= 0:
                    del self._lent[ref]
                evicted = self._evictable(keep=ref)
            for _, old in evicted:
                _unload(old)

    @property
    def _limit(self) -> int:
        return max(1, self.settings.max_loaded_models - self.pinned)

    def _evictable(self, keep: str) -> list[tuple[str, Transcriber]]:
        """Take the least recently used idle models off the list until the limit holds
        (called under the lock); models lent out stay, over the limit for a while."""
        evicted = []
        for name in list(self._loaded):
            if len(self._loaded) <= self._limit:
                break
            if name == keep or self._lent.get(name):
                continue
            evicted.append((name, self._loaded.pop(name)))
        return evicted


def _unload(transcriber: Transcriber) -> None:
    from .transcriber import forget_transcriber

    forget_transcriber(transcriber)
    still_shared = any(t.model is transcriber.model for t in _live_transcribers())
    if not still_shared:
        unload_model(transcriber.model)


def _live_transcribers() -> list[Transcriber]:
    from .transcriber import loaded_transcribers

    return loaded_transcribers()


def unavailable_message(ref: str, error: ModelUnavailableError) -> str:
    """What a person is told when a chosen model cannot be loaded."""
    return f"{ref} cannot be used now: {error} The previous model keeps serving."


_POOLS: Registry[Settings, ModelPool] = Registry("model pools")


def shared_pool(settings: Settings) -> ModelPool:
    """The process's pool for these settings (the app's tabs share one); the app's own
    model is held outside it, never unloaded, and counts towards the limit."""
    return _POOLS.get_or_create(settings, lambda: ModelPool(settings, pinned=1))
