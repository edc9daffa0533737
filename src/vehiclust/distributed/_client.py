"""Which Dask cluster the engine talks to: an address, the active client, or a LocalCluster.

The LocalCluster is started once per process (two worker processes, one thread each, so
BLAS and faiss inside a task do not oversubscribe the cores) and closed at exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from vehiclust.exceptions import InputError, MissingDependencyError

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_CLIENTS: dict[Any, Any] = {}


def _distributed():
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise MissingDependencyError(
            "The Dask engine needs the 'dask' extra: pip install 'vehiclust[dask]'."
        ) from exc
    return distributed


def get_client(
    scheduler: str | Any | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | int = "auto",
):
    """A ``distributed.Client``.

    ``scheduler`` may be a Client (returned as is), a scheduler address such as
    ``tcp://10.0.0.5:8786`` (connected once and reused), or None: then the active default
    client if there is one, else a LocalCluster started for this process.
    """
    distributed = _distributed()
    if scheduler is not None and not isinstance(scheduler, str):
        if isinstance(scheduler, distributed.Client):
            return scheduler
        raise InputError(f"The 'scheduler' must be a scheduler address (str) or a distributed.Client. Got {type(scheduler).__name__}.")
    with _LOCK:
        if scheduler:
            client = _CLIENTS.get(scheduler)
            if client is None or client.status not in ("running", "connecting"):
                try:
                    client = distributed.Client(scheduler, timeout="30s")
                except OSError as exc:
                    raise InputError(f"Could not reach the Dask scheduler at {scheduler!r}: {exc}") from None
                _CLIENTS[scheduler] = client
            return client
        try:
            return distributed.default_client()
        except ValueError:
            pass
        key = ("local", n_workers, threads_per_worker, processes)
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        if not isinstance(n_workers, int) or n_workers < 1:
            raise InputError(f"The 'n_workers' of the local Dask cluster must be an int in [1, inf). Got {n_workers!r}.")
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            dashboard_address=None,
        )
        client = distributed.Client(cluster, set_as_default=False)
        log.info("started a local Dask cluster: %d workers x %d threads", n_workers, threads_per_worker)
        _CLIENTS[key] = client
        return client


def close_clients() -> None:
    """Close every client (and LocalCluster) this module started."""
    with _LOCK:
        for client in list(_CLIENTS.values()):
            cluster = getattr(client, "cluster", None)
            try:
                client.close()
                if cluster is not None:
                    cluster.close()
            except Exception:  # noqa: BLE001 - best effort at interpreter exit
                pass
        _CLIENTS.clear()


atexit.register(close_clients)
