"""Access to the Hugging Face Hub, in one place: whether it is offline, whether it answers.

Both the checkpoint resolver (checkpoints.py) and the model card (card/) ask the Hub;
both use these, with the one timeout `Settings.hub_timeout_s` (``HYASR_HUB_TIMEOUT_S``).
huggingface_hub's own clients retry for about 23 s when the network is down, so a quick
check comes first and an unreachable Hub costs seconds, not a stalled page.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

_TRUE = {"1", "ON", "YES", "TRUE"}


def endpoint() -> str:
    """The Hub's address (``HF_ENDPOINT``, as huggingface_hub reads it)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is on. huggingface_hub reads the variable once, at
    import; its constant and the environment are both read now, so either way of going
    offline is honoured."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE
    return bool(constants.HF_HUB_OFFLINE) or env


def reachable(url: str, timeout_s: float) -> bool:
    """A quick TCP connect to the host of `url`, so an unplugged machine fails within
    `timeout_s` rather than after the HTTP client's retries."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False
