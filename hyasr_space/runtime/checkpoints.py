"""Where a checkpoint is: `resolve_model` finds its directory, from the Hub when need be.

A model is named by a Hub id (with a revision), a local directory in the Hub layout, or
`demo` for the bundled model. Hub models go through huggingface_hub's cache
(`snapshot_download`); when `HF_HUB_OFFLINE` is set or the Hub does not answer within
`Settings.hub_timeout_s`, only the cache is consulted, so a machine without network
neither hangs nor downloads. Of the weights, one format is fetched (safetensors when the
repo has it, else `pytorch_model.bin`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelUnavailableError
from ..settings import DEMO_MODEL, LM_DIR, Settings
from . import hub

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json", "preprocessor_config.json", "vocab.json")
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# Everything but the weights is small; the weights are fetched in one format only.
_HUB_PATTERNS = ["*.json", f"{LM_DIR}/*", "README.md"]
_SAFETENSORS_PATTERNS = ["*.safetensors", "model.safetensors.index.json"]
_BIN_PATTERNS = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]


@dataclass(frozen=True)
class ModelSource:
    """Where a checkpoint came from and where its files are now."""

    ref: str  # as asked for: Hub id, directory or "demo"
    path: Path  # a directory in the Hub layout
    kind: str  # "hub", "directory" or "demo"
    revision: str | None = None  # the commit, for Hub snapshots

    @property
    def label(self) -> str:
        """A short name for the page and the logs."""
        if self.kind == "hub":
            return f"{self.ref}@{self.revision[:7]}" if self.revision else self.ref
        if self.kind == "demo":
            return "bundled demo model"
        return str(self.path)


def resolve_model(
    ref: str, revision: str | None = None, settings: Settings | None = None
) -> ModelSource:
    """Find a checkpoint's directory: `demo`, a local directory, or a Hub id (cached).

    Raises `ModelUnavailableError` saying why when it is nowhere to be had.
    """
    settings = settings or Settings()
    if ref == DEMO_MODEL:
        return ModelSource(ref, _check_layout(settings.demo_model_dir, "the demo model"), "demo")
    path = Path(ref).expanduser()
    if path.is_dir():
        # The bundled model named by its folder is still the bundled model, by its name.
        kind = "demo" if path.resolve() == settings.demo_model_dir.resolve() else "directory"
        return ModelSource(ref, _check_layout(path, ref), kind)
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1 or "\\" in ref:
        raise ModelUnavailableError(f"Model directory {ref} does not exist.")
    return _resolve_hub(ref, revision, settings)


def _resolve_hub(repo_id: str, revision: str | None, settings: Settings) -> ModelSource:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    reason = "the Hub is offline (HF_HUB_OFFLINE)"
    if not hub.offline():
        reason = f"the Hub ({hub.endpoint()}) cannot be reached"
        if hub.reachable(hub.endpoint(), settings.hub_timeout_s):
            try:
                folder = snapshot_download(
                    repo_id,
                    revision=revision,
                    allow_patterns=_HUB_PATTERNS + _online_weight_patterns(repo_id, revision),
                    etag_timeout=settings.hub_timeout_s,
                )
                return _hub_source(repo_id, Path(folder))
            except (RepositoryNotFoundError, RevisionNotFoundError, HFValidationError) as error:
                raise ModelUnavailableError(f"{repo_id} ({revision or 'main'}): {error}") from error
            except Exception as error:  # network trouble of any kind: the cache may still do
                log.warning("downloading %s failed (%s); trying the local cache", repo_id, error)
                reason = f"downloading it failed ({type(error).__name__})"
    for weights in (_SAFETENSORS_PATTERNS, _BIN_PATTERNS):
        try:
            folder = snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=_HUB_PATTERNS + weights,
                local_files_only=True,
            )
        except (LocalEntryNotFoundError, HFValidationError, OSError):
            continue
        if _weights_in(Path(folder)):
            return _hub_source(repo_id, Path(folder))
    raise ModelUnavailableError(
        f"{repo_id} cannot be loaded: {reason} and it is not in the local cache."
    )


def _online_weight_patterns(repo_id: str, revision: str | None) -> list[str]:
    from huggingface_hub import model_info

    names = {sibling.rfilename for sibling in model_info(repo_id, revision=revision).siblings or []}
    if any(name.endswith(".safetensors") for name in names):
        return _SAFETENSORS_PATTERNS
    return _BIN_PATTERNS


def _hub_source(repo_id: str, folder: Path) -> ModelSource:
    _check_layout(folder, repo_id)
    commit = folder.name if folder.parent.name == "snapshots" else None
    return ModelSource(repo_id, folder, "hub", commit)


def _weights_in(path: Path) -> bool:
    return any((path / name).is_file() for name in WEIGHT_FILES)


def _check_layout(path: Path, name: str) -> Path:
    if not path.is_dir():
        raise ModelUnavailableError(f"{name} is not there ({path} does not exist).")
    missing = [file for file in REQUIRED_FILES if not (path / file).is_file()]
    if not _weights_in(path):
        missing.append("model.safetensors or pytorch_model.bin")
    if missing:
        raise ModelUnavailableError(f"{name} is incomplete: {', '.join(missing)} missing.")
    return path
