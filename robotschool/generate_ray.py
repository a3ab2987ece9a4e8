"""The Ray backend of `generate`: the same attempts, run by Ray actors on one machine or a cluster.

    generate("parts_sorting", 500, "data/sorting.hdf5", workers=8, backend="ray")              # local Ray
    generate(..., backend="ray", ray_address="10.0.0.5:6379")                                # a cluster

Why actors, not tasks: an actor is one long-lived process, so it builds its RobotEnv (PyBullet client, URDFs,
meshes) once and reuses it for every attempt it runs, exactly like a process-pool worker. Only the arguments
of `run_attempt` (a small `EnvSpec` and three ints) go out and only its result (the `Episode`) comes back.

`RayAttemptPool` looks like a `concurrent.futures` executor (`submit` -> `Future`, `shutdown`, plus
`terminate`, see generate_pools.py), so `generate._run_pool` schedules it exactly as the process pool: the same
lookahead, the same strictly index-ordered commits, hence the same file whatever the backend. Each actor
is fed by one driver thread that takes the next queued attempt only when its actor is free (a busy actor
never gets a second attempt queued behind it while another sits idle).

Without an address the pool starts a private local Ray (`num_cpus = workers`) and shuts it down when done,
Ctrl-C included; with an address it connects to that running cluster (`ray start --head` on the head node)
and leaves it running. On a cluster, robotschool (same version) must be installed on every node.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import queue
import threading
from typing import Any, Callable

from robotschool.errors import RobotschoolError

INSTALL_HINT = "pip install robotschool[ray]"
_STOP = object()


def import_ray():
    """`ray`, or a one-line RobotschoolError saying how to install the extra."""
    try:
        import ray
    except ImportError:
        raise RobotschoolError(f"--backend ray needs Ray, which is not installed; install it with "
                               f"`{INSTALL_HINT}`") from None
    return ray


class _AttemptActor:
    """Body of one Ray actor: calls `fn(*args)` in its own process (the env cache of `generate` lives here)."""

    def __init__(self) -> None:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the driver's to handle, as in the process pool
        from robotschool.sim.quiet import quiet_fd

        with quiet_fd(2), contextlib.suppress(ImportError):
            import pybullet  # noqa: F401

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)


class RayAttemptPool:
    """`workers` Ray actors behind an executor-like interface (see module doc)."""

    def __init__(self, workers: int, address: str | None = None):
        ray = self._ray = import_ray()
        self._owns_connection = False           # True: this pool called ray.init, so it calls ray.shutdown
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.WARNING,
                                          log_to_driver=False, configure_logging=True)
            if address is None:
                with _quiet_ray_logs():
                    ray.init(address="local", num_cpus=workers, **kwargs)   # never a `ray start` one
            else:
                check_reachable(address)
                try:
                    with _quiet_ray_logs():
                        ray.init(address=address, **kwargs)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise RobotschoolError(f"cannot connect to the Ray cluster at {address!r} ({first}); start "
                                           f"one with `ray start --head` and pass the address it prints") from None
            self._owns_connection = True
        actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_AttemptActor)
        self._actors = [actor_cls.remote() for _ in range(workers)]
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._feed, args=(a,), daemon=True, name=f"ray-feed-{k}")
                         for k, a in enumerate(self._actors)]
        for t in self._threads:
            t.start()
        self._closed = False

    def _feed(self, actor) -> None:
        """Driver thread of one actor: run queued attempts on it one at a time, resolve their futures."""
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(self._ray.get(actor.call.remote(fn, *args)))
            except BaseException as exc:        # noqa: BLE001 - handed to the caller through the future
                fut.set_exception(_unwrap(exc))

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        if self._closed:
            raise RuntimeError("cannot submit to a shut-down RayAttemptPool")
        fut: cf.Future = cf.Future()
        self._queue.put((fut, fn, args))
        return fut

    def terminate(self) -> None:
        """Kill the actors now (what they were running is lost; committed episodes are not affected)."""
        for a in self._actors:
            with contextlib.suppress(Exception):
                self._ray.kill(a, no_restart=True)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop feeding the actors, release them, and stop the local Ray this pool started (never a cluster)."""
        if self._closed:
            return
        self._closed = True
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self._queue.get_nowait()
                    if item is not _STOP:
                        item[0].cancel()
        for _ in self._threads:
            self._queue.put(_STOP)
        if wait:
            for t in self._threads:
                t.join()
        else:
            self.terminate()                     # unblocks feeders waiting on an attempt
            for t in self._threads:
                t.join(timeout=10)
        for a in self._actors:
            with contextlib.suppress(Exception):
                self._ray.kill(a, no_restart=True)
        self._actors = []
        if self._owns_connection:            # stops the local Ray it started; only disconnects from a cluster
            with _quiet_ray_logs():
                self._ray.shutdown()


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a head node that does not answer: `ray.init` would retry for minutes, logging each try.
    ("auto" and other non host:port forms are left to Ray.)"""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RobotschoolError(f"cannot connect to the Ray cluster at {address!r} ({exc.strerror or exc}); start "
                               f"one with `ray start --head` and pass the address it prints") from None


def _unwrap(exc: BaseException) -> BaseException:
    """A task error from the actor becomes the original exception (a RobotschoolError stays one); a dead
    actor becomes the same message the process pool gives for a dead worker."""
    ray = import_ray()
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.as_instanceof_cause()
        return getattr(cause, "cause", None) or cause
    if isinstance(exc, (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError)):
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "Error:" in ln), lines[0] if lines else "a Ray actor died")
        if "ModuleNotFoundError" in str(exc) or "ImportError" in str(exc):
            cause += f"; is robotschool {_version()} installed on every Ray node?"
        return cf.BrokenExecutor(f"Ray actor: {cause.rstrip('.')}")
    return exc


def _version() -> str:
    from robotschool import __version__

    return __version__


@contextlib.contextmanager
def _quiet_ray_logs():
    """Ray logs notices on start (the local cluster's token authentication) and shutdown (killed workers) on
    stderr; the CLI promises clean output, so only Ray's errors get through while it starts and stops."""
    loggers = [logging.getLogger(n) for n in ("ray", "ray._private.authentication.authentication_token_setup")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


__all__ = ["RayAttemptPool", "import_ray", "check_reachable", "INSTALL_HINT"]
