"""Worker processes for the CPU-bound stages (page extraction, detection) inside one task."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from sinorus import settings


def processes(setting: str) -> int:
    """Processes for a stage, the task's own included: the setting, else one per core (max 4)."""
    configured = settings.env(setting)
    if configured and configured.isdigit():
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def pool(workers: int, warm_up: Callable[[], object]) -> Iterator[ProcessPoolExecutor | None]:
    """`workers` spawned processes, each running `warm_up` first; None when there can be none."""
    # A daemonic process (some executors' workers) may not have children: work in-process.
    if workers < 1 or multiprocessing.current_process().daemon:
        yield None
        return
    # spawn: the fetcher's threads are running (forking a threaded process is unsafe), and a
    # forkserver inherited from a parent that forked us would not be ours to use.
    executor = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        # Each submit spawns a worker while fewer than `workers` run: spawn them all now, while
        # the parent's __main__ is hidden, and let them warm up while the task gets going.
        with _main_hidden():
            for _ in range(workers):
                executor.submit(warm_up)
        yield executor
    finally:
        started = list((getattr(executor, "_processes", None) or {}).values())
        # Waiting for the workers costs a few ms now that they skip interpreter teardown; not
        # waiting once left a task process that never exited (a killed-task test under load).
        executor.shutdown(cancel_futures=True)
        # When a worker dies, Python 3.11's pool stops its other workers, unless a future it
        # tries to fail was cancelled (we take queued work back): then it raises before doing
        # so, and the survivor, waiting for work that never comes, kept the task from exiting.
        for process in started:
            if process.is_alive():
                process.kill()
                process.join(5)


_MAIN_LOCK = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Show processes spawned meanwhile a bare __main__, so they do not import the parent's.

    A spawned process first imports its parent's main module. In an Airflow task that is the
    `airflow` command, so each worker would import all of Airflow (about 1 s) before its first
    page; a bare module (no __spec__, no __file__) gives it nothing to import. The workers run
    functions of the sinorus package, never of __main__, so they miss nothing.
    """
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def _start_worker(parent: int) -> None:
    """In a worker: exit when the task process that started us is gone (killed, timed out),
    and exit without tearing down the interpreter when the pool is shut down."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    # A spawned worker leaves through sys.exit, and freeing trafilatura's and lxml's objects
    # one by one took 40-70 ms that the task spent waiting at shutdown. Its results are
    # already written (the result queue's writes are synchronous); exit at the first atexit
    # call instead.
    atexit.register(_exit_now)


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
