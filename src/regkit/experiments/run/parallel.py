"""Runs in parallel: `compare(jobs=N)`, `compare(executor=...)`, Dask.

A study's runs are independent, so each can be a task: its inputs are plain data (the
run's settings, `task_for`), its output the run's `RunResult` as a dict (`run_task`). The
worker loads the data set itself, by name, from the same source and with the same split
seed, so nothing large is pickled; the parent process keeps the study folder's lock and
ledger, writes the report as runs finish and never trains (`run_in_parallel`).

`local_executor(jobs)` starts `jobs` fresh worker processes (spawned: a forked copy of a
process that runs TensorFlow is not safe; a script calling `compare(jobs=N)` therefore
needs the usual `if __name__ == "__main__":` guard). With several GPUs each worker sees
its own (`CUDA_VISIBLE_DEVICES`, set before TensorFlow starts there). On CPU the workers
share the cores: each worker's inter-op pool (which runs independent ops side by side)
gets its share of the cores, while the intra-op pool keeps the size a run in this
process has, because oneDNN splits a convolution's sums by that size: with fewer threads
the last bits of the weights differ, training amplifies them, and the figures would no
longer be those of `jobs=1` (measured: test accuracies 0.967 vs 0.983 after 5 epochs).
Any `concurrent.futures.Executor` works too: a Dask cluster's `client.get_executor()`.

Example:
    >>> report = compare(["baseline", "all"], seeds=(0, 1), jobs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from regkit._io import atomic_write_text
from regkit._quiet import start_tensorflow_quietly
from regkit.experiments.report.results import Report
from regkit.experiments.run.ledger import (
    ERROR_FILE,
    RunSlot,
    Study,
    remove_partial_files,
    write_result,
)
from regkit.experiments.run.plan import plan_comparison
from regkit.experiments.run.runner import record, run_one, save_partial, say_for, stops_at_failure
from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.records import RunResult, Variant

__all__ = [
    "capacity",
    "cpu_threads_per_worker",
    "gpu_assignments",
    "local_executor",
    "run_in_parallel",
    "run_task",
    "run_task_in_subprocess",
    "spawned",
    "task_for",
    "worker_setup",
    "worker_threads",
]


def cpu_threads_per_worker(workers: int) -> int:
    """Each worker's share of this machine's CPU cores (at least 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, workers))


def worker_threads(workers: int | None) -> dict[str, int]:
    """TensorFlow thread pools for each of `workers` workers (None: workers elsewhere).

    `intra`: the size of this process' intra-op pool (TensorFlow's default is one thread
    per core), so that every op computes exactly as in a sequential study, also on a
    worker whose own default differs (a Dask worker, another machine). `inter`: a local
    worker's share of the cores; 0 (left alone) for workers elsewhere.
    """
    import tensorflow as tf

    intra = int(tf.config.threading.get_intra_op_parallelism_threads())
    intra = intra or cpu_threads_per_worker(1)
    return {"intra": intra, "inter": cpu_threads_per_worker(workers) if workers else 0}


def gpu_assignments(workers: int) -> list[str] | None:
    """The `CUDA_VISIBLE_DEVICES` value for each worker, or None without GPUs.

    Worker i gets GPU i modulo the number of GPUs (of those already visible to this
    process, if `CUDA_VISIBLE_DEVICES` is set).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else []
    if len(ids) != len(gpus):
        ids = [str(i) for i in range(len(gpus))]
    return [ids[i % len(ids)] for i in range(workers)]


def worker_setup(threads: dict[str, int], gpus: Any = None) -> None:
    """A worker process's start: thread pools and GPU, then TensorFlow, imported without
    its start-up lines (a terminal with two workers showed a dozen of them)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads["intra"])
    if threads["inter"]:
        os.environ["TF_NUM_INTEROP_THREADS"] = str(threads["inter"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus.get()
    start_tensorflow_quietly()  # a worker is regkit's process: no start-up lines per worker


def local_executor(jobs: int) -> ProcessPoolExecutor:
    """`jobs` spawned worker processes, each with its share of the cores and its GPU."""
    context = multiprocessing.get_context("spawn")
    assignments = gpu_assignments(jobs)
    queue = None
    if assignments is not None:
        queue = context.Queue()
        for ids in assignments:
            queue.put(ids)
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=worker_setup,
        initargs=(worker_threads(jobs), queue),
    )


def task_for(
    plan: Any,
    name: str,
    variant: Any,
    seed: int,
    directory: Path,
    threads: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One run as plain data: everything a worker needs to repeat it exactly.

    Args:
        plan: The checked plan (its data source must be a name or a folder).
        name: The variant's name.
        variant: The `Variant` (BatchNorm momentum already applied).
        seed: The seed.
        directory: The run folder (shared storage for workers on other machines).
        threads: TensorFlow's pools for the worker (`worker_threads`), set if it has not
            started TensorFlow yet; None leaves them alone.

    Returns:
        A dict of strings, numbers, lists and dicts (and the model builder when it is a
        callable, pickled by reference).
    """
    return {
        "name": name,
        "variant": variant.to_dict(),
        "seed": int(seed),
        "directory": str(directory),
        "settings": {
            key: _plain(getattr(plan.study, key)) for key in StudyConfig.worker_settings()
        },
        "threads": threads,
    }


def _plain(value: Any) -> Any:
    """A checked study setting as a worker receives it: plain data it checks again (an
    `Augment` as its fields, a path as a string: a worker loads the data the same way)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """A worker's side of one run: loads the data, trains, returns the `RunResult` dict.

    Raises:
        Exception: whatever the run raised (the parent records the run as failed).
    """
    threads = task.get("threads")
    if threads:
        _size_thread_pools(threads)

    variant = Variant.from_dict(task["variant"])
    plan = plan_comparison(
        {task["name"]: variant},
        **task["settings"],
        seeds=(task["seed"],),
        bn_momentum=None,  # the parent applied it to the variant already
        verbose=0,
        plots=False,
    )
    result = run_one(plan, task["name"], variant, task["seed"], Path(task["directory"]))
    return result.to_dict()


def run_task_in_subprocess(task: dict[str, Any]) -> dict[str, Any]:
    """`run_task` in a fresh Python process started by the worker, for executors whose
    workers are not plain processes of their own (a Dask worker runs tasks in a thread
    beside its event loop, a thread pool inside this very process).

    A run there is not reproducible: on Dask workers about one run in four gave figures
    other than the sequential ones (measured on this project's 2-core machine), while
    the same tasks in a process of their own, on its main thread, are exact every time.
    The fresh process costs one TensorFlow import per run.

    Raises:
        RuntimeError: the run's process failed; its last output lines say why.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "regkit.experiments.run.parallel"],
        input=pickle.dumps(task),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-20:]
        raise RuntimeError(
            f"the run's process exited with status {proc.returncode}:\n" + "\n".join(tail)
        )
    result: dict[str, Any] = pickle.loads(proc.stdout)
    return result


def _size_thread_pools(threads: dict[str, int]) -> None:
    import tensorflow as tf

    try:  # only possible before TensorFlow's runtime starts in this process
        tf.config.threading.set_intra_op_parallelism_threads(threads["intra"])
        if threads["inter"]:
            tf.config.threading.set_inter_op_parallelism_threads(threads["inter"])
    except RuntimeError:
        pass


def spawned(executor: Executor) -> bool:
    """Whether `executor` is a process pool whose workers start as fresh interpreters
    (spawn or forkserver), never as forked copies of this process."""
    if not isinstance(executor, ProcessPoolExecutor):
        return False
    context = getattr(executor, "_mp_context", None)
    method = context.get_start_method() if context is not None else None
    return method in ("spawn", "forkserver")


def capacity(executor: Executor, default: int) -> int:
    """How many tasks `executor` runs at once, where it says; else `default`."""
    workers = getattr(executor, "_max_workers", None)
    return int(workers) if isinstance(workers, int) and workers > 0 else default


# ---------------------------------------------------------------------------- the parent
class WorkerDiedError(RuntimeError):
    """The process running a run died (killed, out of memory, crashed)."""


def _worker_died(exc: BaseException) -> bool:
    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def _terminate(executor: Executor) -> None:
    """Stops a pool we started: pending runs cancelled, running workers killed."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()


def run_in_parallel(
    plan: Any, study: Study, report: Report, slots: Sequence[RunSlot] | None = None
) -> None:
    """Runs the study's runs as tasks on `plan.study.executor` or `plan.study.jobs` local workers.

    The parent keeps the ledger: reused runs are recorded at once, each run folder gets
    its settings before its task is submitted and its result when the task returns, and
    the partial report is rewritten as each run finishes. Progress lines say which runs
    start and how many are in flight and done. A run whose worker died is run once more
    on its own (on a fresh pool); if its worker dies again it is recorded as failed, and
    the study goes on. Ctrl-C stops the workers we started and keeps the finished runs.

    Args:
        plan: The checked plan.
        study: The opened study (lock held, run folders checked).
        report: The report to fill.
        slots: The runs to run (default: every slot of the study).

    Raises:
        KeyboardInterrupt: after stopping the workers.
        Exception: a run's exception where a failure stops the study.
    """

    say = say_for(plan)
    slots = study.slots() if slots is None else list(slots)
    total = len(slots)
    queue: list[RunSlot] = []
    for slot in slots:
        if slot.previous is not None:
            record(plan, report, slot.previous, say)
        else:
            queue.append(slot)
    own = plan.study.executor is None
    # The workers that will really run: no more than there are runs to train.
    width = plan.study.jobs if own else capacity(plan.study.executor, total)
    width = max(1, min(width, len(queue)))
    executor: Executor = local_executor(width) if own else plan.study.executor
    threads = worker_threads(width if own else None)
    retry: list[RunSlot] = []  # their worker died with others running: one at a time now
    alone: set[tuple[str, int]] = set()  # retried runs, in flight with nothing else
    in_flight: dict[Future[Any], tuple[RunSlot, float]] = {}
    finished = total - len(queue)
    if queue:
        runs = f"{len(queue)} run{'s' if len(queue) != 1 else ''}"
        workers = f"{width} worker{'s' if width != 1 else ''}"
        say(f"{runs} to train on {workers} ({finished} reused)")

    def renew() -> None:
        """A broken pool (a worker died) cannot run anything more: start a fresh one."""
        nonlocal executor, own, threads
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False, cancel_futures=True)
        executor, own, threads = local_executor(width), True, worker_threads(width)

    def submit(slot: RunSlot) -> None:
        try:
            if study.kept:
                study.begin(slot)
            task = task_for(plan, slot.name, slot.variant, slot.seed, slot.directory, threads)
            # A spawned pool's workers are fresh interpreters that run each task on their
            # main thread; any other executor (a forked pool, whose workers are copies of
            # this process with TensorFlow's threads, Dask, threads) gets a fresh process
            # per run (see run_task_in_subprocess).
            target = run_task if own or spawned(executor) else run_task_in_subprocess
            try:
                future = executor.submit(target, task)
            except BrokenProcessPool:
                renew()
                future = executor.submit(run_task, task)
        except Exception as exc:  # e.g. the disk is full: that run fails, not the study
            future = Future()
            future.set_exception(exc)
        in_flight[future] = (slot, time.perf_counter())
        running = ", ".join(f"{s.name} seed {s.seed}" for s, _ in in_flight.values())
        say(
            f"[{finished + len(in_flight)}/{total}] started {slot.name!r} seed {slot.seed}: "
            f"{slot.variant.describe()} (in flight: {running})"
        )

    try:
        while queue or retry or in_flight:
            if retry and not in_flight:
                slot = retry.pop(0)
                alone.add((slot.name, slot.seed))
                submit(slot)
            elif not retry:
                while queue and len(in_flight) < width:
                    submit(queue.pop(0))
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                slot, start = in_flight.pop(future)
                exc = future.exception()
                broken = broken or isinstance(exc, BrokenProcessPool)
                if exc is not None and _worker_died(exc) and (slot.name, slot.seed) not in alone:
                    retry.append(slot)  # maybe an innocent bystander: once more, alone
                    continue
                result = _collect(plan, study, slot, future, start, report)
                finished += 1
                record(plan, report, result, say)
                say(
                    f"    [{finished}/{total}] {slot.name!r} seed {slot.seed} {result.status}, "
                    f"{len(in_flight)} in flight"
                )
            if broken:  # the pool is gone: every run still in it failed the same way
                for future, (slot, _) in list(in_flight.items()):
                    wait([future])
                    in_flight.pop(future)
                    retry.append(slot)
                renew()
                if retry:
                    say(f"    a worker died; {len(retry)} runs will run again one at a time")
    except BaseException:
        for future in in_flight:
            future.cancel()
        if own:
            _terminate(executor)
        raise
    if own:
        executor.shutdown(wait=True)


def _collect(
    plan: Any, study: Study, slot: RunSlot, future: Future[Any], start: float, report: Report
) -> RunResult:
    """A finished task's RunResult, recorded in its folder; a failure as a failed run."""

    exc = future.exception()
    if exc is None:
        try:
            result = RunResult.from_dict(future.result())
            if study.kept:
                write_result(slot.directory, result)
            return result
        except Exception as error:
            exc = error
    if _worker_died(exc):
        exc = WorkerDiedError(
            f"the worker process running this run died twice ({type(exc).__name__}: {exc})"
        )
    result = RunResult.failed(slot.name, slot.seed, exc, wall_time=time.perf_counter() - start)
    remove_partial_files(slot.directory)
    if study.kept:
        with contextlib.suppress(OSError):
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            atomic_write_text(slot.directory / ERROR_FILE, text)
    if stops_at_failure(plan):
        report.runs.append(result)
        with contextlib.suppress(OSError):
            save_partial(report, plan)
        raise exc
    return result


if __name__ == "__main__":  # a run in a process of its own: a pickled task in, its result out
    _task = pickle.loads(sys.stdin.buffer.read())
    _out = os.dup(1)  # the result goes here; anything the run prints goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _result = run_task(_task)
    with os.fdopen(_out, "wb") as _f:
        _f.write(pickle.dumps(_result))
