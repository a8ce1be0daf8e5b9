"""Fetching a model card: from the Hub, checked against its current commit, and cached.

Fetching and caching. ``ModelCard.load(repo_id)`` takes no revision, endpoint or timeout
and, offline, retries for about 23 s before failing, so the card is fetched in pieces:
``HfApi.model_info`` (one request with a short timeout and no retry; it doubles as the
connectivity check and lists the repo's files), then ``hf_hub_download`` of README.md and
the result files at that exact commit, then ``ModelCard`` parses the text. What was
fetched is kept raw (card text, result files, file list) in memory and as JSON on disk,
and re-parsed on every load, so a fix to the parsing applies to old caches too.

Revalidation: the viewer promises the metrics *from the Hub*, so a cached copy is only
trusted while it is known to be the Hub's current commit. A process asks the Hub again
once the copy it holds was last confirmed more than ``Settings.card_max_age_s`` ago
(``HYASR_CARD_MAX_AGE_S``, default 5 minutes: a busy Space asks at most that often per
card, not on every page view); a new process (``hyasr card``, a restarted app) always
asks. Asking is one ``model_info`` request; the files are downloaded again only when its
commit differs from the cached one. ``refresh=True`` asks at once, whatever the age. Every
report says which commit it shows, when it was fetched and when the Hub last confirmed
it. Offline (``HF_HUB_OFFLINE``, as ``runtime.hub.offline`` reads it) or when the Hub
cannot be reached, the fallbacks are: the disk cache, then files already in the Hugging
Face cache (``local_files_only``), then an "unavailable" report. A local model directory (the
bundled demo model) never touches the network.

The disk cache lives in ``Settings.cache_dir`` (``HYASR_CACHE_DIR``), beside the int8
models; every request to the Hub waits at most ``Settings.hub_timeout_s``
(``HYASR_HUB_TIMEOUT_S``), the timeout the rest of the app uses.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.utils import validate_repo_id

from ..runtime import hub
from ..runtime.caches import Registry
from ..settings import PACKAGE_DIR, Settings
from .provenance import README_NAME, build_report, is_result_file
from .report import (
    SOURCE_BUNDLED,
    SOURCE_DISK_CACHE,
    SOURCE_HF_CACHE,
    SOURCE_HUB,
    SOURCE_LOCAL_DIR,
    ModelCardReport,
    Snapshot,
    describe_error,
)

# The default of `Settings.hub_timeout_s`: one timeout for every question to the Hub.
HUB_TIMEOUT_S = Settings.hub_timeout_s
CARD_CACHE_SUBDIR = "model-cards"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _model_info(repo_id: str, revision: str | None, endpoint: str | None, timeout: float) -> Any:
    """One GET with a timeout and no retry: fails fast when the Hub is unreachable.

    Its ``sha`` is the repo's current commit, which is all a revalidation needs.
    """
    return HfApi(endpoint=endpoint or constants.ENDPOINT).model_info(
        repo_id, revision=revision, timeout=timeout
    )


def _fetch_from_hub(
    repo_id: str, revision: str | None, endpoint: str | None, timeout: float, info: Any
) -> Snapshot:
    """Read the card, file list and result files of a Hub repo at the commit of ``info``
    (a ``model_info`` answer). Failures to read one file become problems in the snapshot.
    """
    endpoint = endpoint or constants.ENDPOINT
    api = HfApi(endpoint=endpoint)
    commit = info.sha or revision
    if info.siblings is not None:
        files = tuple(sorted(sibling.rfilename for sibling in info.siblings))
    else:
        files = tuple(sorted(api.list_repo_files(repo_id, revision=commit)))

    problems: list[str] = []

    def download(filename: str) -> str | None:
        try:
            path = hf_hub_download(
                repo_id, filename, revision=commit, endpoint=endpoint, etag_timeout=timeout
            )
            return Path(path).read_text(encoding="utf-8-sig")
        except Exception as error:  # one missing file must not hide the rest
            problems.append(f"could not read {filename} from the Hub: {describe_error(error)}")
            return None

    readme = download(README_NAME) if README_NAME in files else None
    results: dict[str, str] = {}
    for name in files:
        if is_result_file(name) and (text := download(name)) is not None:
            results[name] = text
    now = _now()
    return Snapshot(
        model_ref=repo_id,
        revision=revision,
        commit=commit,
        fetched_at=now,
        files=files,
        readme=readme,
        result_files=results,
        problems=tuple(problems),
        checked_at=now,
    )


def _snapshot_from_dir(directory: Path, model_ref: str, revision: str | None) -> Snapshot:
    """Read a model directory on disk: a local model, the bundled demo, a cached snapshot."""
    files = tuple(
        sorted(
            path.relative_to(directory).as_posix()
            for path in directory.rglob("*")
            # skip .git, .cache and the like: not part of the model
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(directory).parts)
        )
    )
    problems: list[str] = []

    def read(name: str) -> str | None:
        try:
            return (directory / name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"could not read {name}: {describe_error(error)}")
            return None

    readme = read(README_NAME) if README_NAME in files else None
    results = {name: text for name in files if is_result_file(name) and (text := read(name))}
    return Snapshot(
        model_ref=model_ref,
        revision=revision,
        commit=None,
        fetched_at=_now(),
        files=files,
        readme=readme,
        result_files=results,
        problems=tuple(problems),
    )


def _snapshot_from_hf_cache(repo_id: str, revision: str | None) -> Snapshot | None:
    """The card as already downloaded into the Hugging Face cache (by the model loader)."""
    try:
        readme_path = hf_hub_download(
            repo_id, README_NAME, revision=revision, local_files_only=True
        )
    except Exception:  # LocalEntryNotFoundError and friends: nothing cached
        return None
    snapshot_dir = Path(readme_path).parent
    snapshot = _snapshot_from_dir(snapshot_dir, repo_id, revision)
    return dataclasses.replace(snapshot, commit=snapshot_dir.name)


def default_cache_dir(settings: Settings | None = None) -> Path:
    """Where card snapshots are kept: the settings' cache directory."""
    return (settings or Settings()).cache_dir


def _cache_file(cache_dir: Path, model_ref: str, revision: str | None) -> Path:
    def safe(text: str) -> str:
        return re.sub(r"[^\w.-]+", "--", text)

    return cache_dir / CARD_CACHE_SUBDIR / f"{safe(model_ref)}@{safe(revision or 'default')}.json"


def _read_cache(path: Path) -> Snapshot | None:
    try:
        return Snapshot.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: as if never cached


def _write_cache(path: Path, snapshot: Snapshot) -> str | None:
    """Write atomically; return a problem description instead of raising."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(snapshot.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        return f"could not write the card cache ({describe_error(error)})"
    return None


# Reports by (repo, revision), with when the Hub was last asked (time.monotonic()): asked
# or not reached, it is not asked again for `max_age_s`.
_REPORTS: Registry[tuple[str, str | None], tuple[ModelCardReport, float]] = Registry(
    "model card reports"
)


def _local_dir(model_ref: str | Path) -> Path | None:
    path = Path(model_ref).expanduser()
    return path if path.is_dir() else None


def load_card_report(
    model_ref: str | Path,
    revision: str | None = None,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
    *,
    endpoint: str | None = None,
    timeout: float | None = None,
    max_age_s: float | None = None,
    settings: Settings | None = None,
) -> ModelCardReport:
    """The card report for a Hub repo id or a local model directory. Never raises.

    A local directory is read as it is, every time. A repo id is served from this
    process's memory while the Hub confirmed its commit less than ``max_age_s`` ago
    (default ``Settings.card_max_age_s``); otherwise the Hub is asked for its current
    commit, and the card is downloaded again only when that differs from the copy in
    the disk cache under ``cache_dir`` (default :func:`default_cache_dir`).
    ``refresh=True`` asks the Hub at once and reads every file again. When the Hub
    cannot be reached (or ``HF_HUB_OFFLINE`` is set) the report comes from the disk cache
    or the Hugging Face cache, with a warning saying so, or is "unavailable".
    ``endpoint`` defaults to ``huggingface_hub.constants.ENDPOINT`` (``HF_ENDPOINT``).
    """
    ref = str(model_ref)
    if (directory := _local_dir(model_ref)) is not None:
        inside_package = directory.resolve().is_relative_to(PACKAGE_DIR)
        source = SOURCE_BUNDLED if inside_package else SOURCE_LOCAL_DIR
        return build_report(_snapshot_from_dir(directory, ref, revision), source, [])

    settings = settings or Settings()
    max_age_s = settings.card_max_age_s if max_age_s is None else max_age_s
    timeout = settings.hub_timeout_s if timeout is None else timeout
    key = (ref, revision)
    if not refresh:
        remembered, asked_at = _REPORTS.get(key) or (None, -math.inf)
        if remembered is not None and time.monotonic() - asked_at < max_age_s:
            return remembered
    cache_file = _cache_file(Path(cache_dir) if cache_dir else settings.cache_dir, ref, revision)
    cached = _read_cache(cache_file)

    try:
        validate_repo_id(ref)
    except Exception as error:
        reason = f"{ref!r} is neither a local directory nor a Hub repo id"
        return ModelCardReport.unavailable(ref, f"{reason} ({describe_error(error)}).", revision)

    if hub.offline():
        reason = "Offline mode (HF_HUB_OFFLINE) is on: the Hub was not asked."
    else:
        try:
            info = _model_info(ref, revision, endpoint, timeout)
            if refresh or cached is None or info.sha is None or info.sha != cached.commit:
                snapshot = _fetch_from_hub(ref, revision, endpoint, timeout, info)
            else:  # the cached copy is the Hub's current commit: nothing to download
                snapshot = dataclasses.replace(cached, checked_at=_now())
        except Exception as error:
            reason = f"Could not reach the Hub ({describe_error(error)})."
        else:
            problem = _write_cache(cache_file, snapshot)
            report = build_report(snapshot, SOURCE_HUB, [problem] if problem else [])
            return _remember(key, report)

    if cached is not None:
        confirmed = f", last confirmed on the Hub {cached.checked_at}" if cached.checked_at else ""
        return _remember(
            key,
            build_report(
                cached,
                SOURCE_DISK_CACHE,
                [f"{reason} Showing the copy cached on {cached.fetched_at}{confirmed}."],
            ),
        )
    from_hf_cache = _snapshot_from_hf_cache(ref, revision)
    if from_hf_cache is not None:
        return _remember(
            key,
            build_report(
                from_hf_cache,
                SOURCE_HF_CACHE,
                [f"{reason} Showing the files already in the Hugging Face cache."],
            ),
        )
    # Not remembered: the next call tries again.
    return ModelCardReport.unavailable(ref, f"{reason} No cached copy of this card.", revision)


def _remember(key: tuple[str, str | None], report: ModelCardReport) -> ModelCardReport:
    _REPORTS.set(key, (report, time.monotonic()))
    return report
