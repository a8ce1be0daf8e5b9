"""Ray, optional: imported only by `hyasr batch`, with one clear message when missing."""

from __future__ import annotations

import os
from typing import Any

INSTALL_HINT = (
    "hyasr batch needs Ray Data: pip install 'hyasr-space[batch]' "
    "(or pip install -r requirements-batch.txt)"
)


class RayMissingError(ImportError):
    """Ray Data (or the pyarrow it needs) is not installed."""


def require_ray() -> Any:
    """The `ray` module with Ray Data importable; `RayMissingError` with the install hint."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise RayMissingError(f"{INSTALL_HINT} ({error})") from error
    return ray


def start_ray(address: str | None = None) -> Any:
    """Ray, connected: the running session (tests, a notebook), the cluster at `address`
    or RAY_ADDRESS (`ray job submit` sets it), else a local Ray started in this process."""
    ray = require_ray()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            ray.init(address=address)
        else:  # embedded: no dashboard to serve, nothing else to connect to
            # Ray starts its workers at niceness 15; embedded, they are this command's own
            # work and get its priority (on a busy machine niced workers made a run
            # slower than `hyasr transcribe` in one process). A user's setting wins.
            os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(include_dashboard=False)
    return ray
