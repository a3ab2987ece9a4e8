"""The worker pools behind `generate --workers K`: local processes, or Ray actors (generate_ray.py).

A pool is executor-like: `submit(fn, *args) -> Future`, `shutdown(wait, cancel_futures)`, and `terminate()`
(stop the workers now). `generate._run_pool` schedules attempts on either the same way, which is why the
backend never changes the file.

The process backend uses the "forkserver" context where available, else "spawn": never plain fork, since
the parent holds a PyBullet client. Workers ignore SIGINT; Ctrl-C is the parent's to handle.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import signal
import threading
from typing import Any, Iterator

BACKENDS = ("process", "ray")


class ProcessAttemptPool(cf.ProcessPoolExecutor):
    """The process backend: a ProcessPoolExecutor that can also stop its workers at once."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._children_before = set(multiprocessing.active_children())
        super().__init__(*args, **kwargs)

    def terminate(self) -> None:
        """Terminate the workers (they ignore SIGINT) and wait until they are gone.

        Not only the executor's own `_processes`: a Ctrl-C can land inside `submit` while it starts a
        worker, after the process started but before the executor recorded it. Such a worker was never
        told to stop; it would block interpreter exit (multiprocessing joins its children) or, started
        while the pool was torn down, print a traceback. So every process this pool started is stopped."""
        procs = {id(p): p for p in (getattr(self, "_processes", None) or {}).values()}
        procs.update({id(p): p for p in multiprocessing.active_children() if p not in self._children_before})
        for proc in procs.values():
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in procs.values():
            with contextlib.suppress(Exception):
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.kill()
                    proc.join(timeout=5)


def make_pool(backend: str, workers: int, ray_address: str | None):
    """An executor-like pool (submit / shutdown / terminate) of `workers` for the backend."""
    if backend == "ray":
        from robotschool.generate_ray import RayAttemptPool

        return RayAttemptPool(workers, ray_address)
    return ProcessAttemptPool(max_workers=workers, mp_context=_pool_context(), initializer=_worker_init)


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (cheap worker starts, no PyBullet state inherited), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker_init() -> None:
    """Pool worker setup: Ctrl-C is the parent's to handle (it cancels and stops the workers); PyBullet's
    build-time banner is kept off stderr as in the CLI."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from robotschool.sim.quiet import quiet_fd

    with quiet_fd(2), contextlib.suppress(ImportError):
        import pybullet  # noqa: F401


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block and raise it (KeyboardInterrupt) when the block ends.

    `ProcessPoolExecutor.submit` may start a worker; interrupted between the worker's launch and its
    registration, the executor loses track of a live process (it is then neither stopped nor joined, and
    prints a traceback if it starts after the pool is gone). Only the main thread can set handlers; elsewhere
    this is a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(*caught[0])
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt
