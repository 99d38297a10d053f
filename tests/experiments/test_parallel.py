"""Parallel runs (regkit.experiments.run.parallel): `jobs=2` and `executor=ProcessPoolExecutor(2)`
give exactly the sequential figures, a Dask LocalCluster runs the study; a killed worker
fails only its run; Ctrl-C stops the workers and keeps finished runs; the lock still
refuses a second study; bad combinations are refused before anything starts."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from regkit.experiments import compare

TINY = {"filters": (8, 16), "dense_units": (16,)}
QUICK = {"epochs": 2, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}
VARIANTS = ["baseline", "all"]


def _figures(report):
    return [
        (r.variant, r.seed, r.status, r.test_accuracy, r.test_loss, r.weight_norm, r.history)
        for r in report.runs
    ]


@pytest.fixture(scope="module")
def sequential():
    return _figures(compare(VARIANTS, seeds=(0, 1), **QUICK))


@pytest.mark.slow
def test_jobs_2_gives_exactly_the_sequential_figures(sequential, tmp_path):
    report = compare(VARIANTS, seeds=(0, 1), jobs=2, out_dir=tmp_path, **QUICK)
    assert _figures(report) == sequential  # every history value, bit for bit
    assert report.complete and [r.origin for r in report.runs] == ["trained"] * 4
    saved = json.loads((tmp_path / "report.json").read_text())
    assert [r["seed"] for r in saved["variants"]["all"]["runs"]] == [0, 1]
    for name in VARIANTS:
        assert (tmp_path / name / "seed1" / "result.json").is_file()


@pytest.mark.slow
def test_any_process_pool_executor_gives_the_sequential_figures(sequential):
    spawn = multiprocessing.get_context("spawn")  # a forked TensorFlow process is unsafe
    with ProcessPoolExecutor(2, mp_context=spawn) as executor:
        report = compare(VARIANTS, seeds=(0, 1), executor=executor, **QUICK)
    assert _figures(report) == sequential


@pytest.mark.slow
@pytest.mark.timeout(400)  # a forked copy of a TensorFlow process used to hang forever
def test_a_default_forking_process_pool_finishes_with_the_sequential_figures(sequential):
    with ProcessPoolExecutor(2) as executor:  # on Linux: fork, with TensorFlow loaded here
        assert multiprocessing.get_start_method() == "fork" or sys.platform != "linux"
        report = compare(VARIANTS, seeds=(0, 1), executor=executor, **QUICK)
    assert _figures(report) == sequential


def test_only_pools_of_fresh_interpreters_run_tasks_in_their_workers():
    from regkit.experiments.run.parallel import spawned

    for method, fresh in (("spawn", True), ("forkserver", True), ("fork", False)):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
            assert spawned(pool) is fresh, method
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as threads:
        assert not spawned(threads)


def test_a_worker_task_carries_every_study_setting_a_run_needs():
    from regkit.experiments.run.parallel import task_for
    from regkit.experiments.run.plan import plan_comparison
    from regkit.experiments.study.config import StudyConfig

    plan = plan_comparison(VARIANTS, seeds=(0, 1), augment="mixup", **QUICK)
    task = task_for(plan, "all", plan.variants["all"], 1, "/tmp/x")
    kept_by_parent = {"seeds", "bn_momentum", "verbose", "plots", "out_dir", "sweep"}
    kept_by_parent |= {"restart", "jobs", "executor", "callbacks", "strategy", "on_error"}
    kept_by_parent |= {"max_seeds", "budget", "margin", "alpha", "tune"}  # the parent's rounds
    assert set(task["settings"]) == set(StudyConfig.names()) - kept_by_parent
    assert task["settings"]["epochs"] == 2 and task["settings"]["limit"] == 48
    assert task["settings"]["model_kwargs"] == dict(plan.study.model_kwargs)
    assert task["settings"]["augment"]["mixup"] > 0
    assert task["seed"] == 1


def _dask_study(workers):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        return compare(VARIANTS, seeds=(0, 1), executor=client.get_executor(), **QUICK)


@pytest.mark.slow
def test_a_dask_local_cluster_of_two_processes_completes_the_study(sequential):
    report = _dask_study(2)
    assert report.complete and [r.status for r in report.runs] == ["ok"] * 4
    # Every figure, bit for bit. Run inside the Dask worker's own thread, about one run in
    # four differed; each run now gets a process of its own (run_task_in_subprocess).
    assert _figures(report) == sequential


def deadly_cnn(input_shape, num_classes, *, reg, **kwargs):
    """A model builder whose L2 variants kill their own process (a crashed worker)."""
    from regkit.models import build_cnn

    if reg.l2 > 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return build_cnn(input_shape, num_classes, reg=reg, **kwargs)


@pytest.mark.slow
def test_a_killed_worker_fails_its_run_and_the_study_completes(tmp_path):
    report = compare(
        ["baseline", "l2", "dropout"],
        model=deadly_cnn,
        jobs=2,
        out_dir=tmp_path,
        on_error="record",
        **{**QUICK, "epochs": 1},
    )
    assert report.complete
    assert [report.status(v) for v in ("baseline", "l2", "dropout")] == ["ok", "failed", "ok"]
    assert "worker process running this run died" in report.runs_for("l2")[0].error
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["complete"] and saved["variants"]["dropout"]["status"] == "ok"


@pytest.mark.slow  # test_runner.py keeps the sequential Ctrl-C in the default tier
def test_ctrl_c_stops_the_workers_and_keeps_finished_runs(tmp_path, monkeypatch):
    from regkit.experiments.run import parallel

    pools = []
    real_pool, real_wait = parallel.local_executor, parallel.wait
    monkeypatch.setattr(
        parallel, "local_executor", lambda n: pools.append(real_pool(n)) or pools[-1]
    )
    calls = []

    def wait_then_interrupt(futures, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # after the first run finished: the user presses Ctrl-C
            raise KeyboardInterrupt
        return real_wait(futures, **kwargs)

    monkeypatch.setattr(parallel, "wait", wait_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        compare(["baseline", "l2", "bn"], jobs=1 + 1, out_dir=tmp_path, **{**QUICK, "epochs": 1})
    processes = list(pools[0]._processes.values()) if pools[0]._processes else []
    for process in processes:
        process.join(timeout=30)
        assert not process.is_alive()
    saved = json.loads((tmp_path / "report.json").read_text())
    finished = [n for n, v in saved["variants"].items() if v["status"] != "pending"]
    assert len(finished) == 1 and saved["complete"] is False


_HOLD = """
import sys, time
from regkit._io import FolderLock
lock = FolderLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_the_lock_still_refuses_a_second_study(tmp_path, monkeypatch):
    from regkit.experiments.run import parallel

    monkeypatch.setattr(parallel, "local_executor", lambda n: pytest.fail("workers started"))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match="in use by another live process"):
            compare(VARIANTS, jobs=2, out_dir=tmp_path, **QUICK)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()


def test_parallel_runs_need_plain_data_inputs():
    import keras

    from regkit.data import load_dataset

    with pytest.raises(ValueError, match="Received: jobs=0"):
        compare(VARIANTS, jobs=0, **QUICK)
    with pytest.raises(TypeError, match="argument `executor`"):
        compare(VARIANTS, executor="dask", **QUICK)
    with pytest.raises(ValueError, match=r"argument `jobs`.*DatasetSplits"):
        compare(VARIANTS, dataset=load_dataset("digits"), jobs=2, **QUICK)
    with pytest.raises(ValueError, match=r"argument `jobs`.*callbacks"):
        compare(VARIANTS, callbacks=[keras.callbacks.History()], jobs=2, **QUICK)
    expected = "argument `jobs`: expected 1 when an executor"
    with ProcessPoolExecutor(1) as executor, pytest.raises(ValueError, match=expected):
        compare(VARIANTS, executor=executor, jobs=2, **QUICK)


def test_the_cli_takes_jobs_and_names_an_unreachable_scheduler(capsys):
    from regkit.cli import build_parser, main

    assert build_parser().parse_args(["compare", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit) as info:
        main(["compare", "--jobs", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["compare", "--scheduler", "tcp://127.0.0.1:1", "--limit", "8"])
    assert info.value.code == 2
    assert "cannot reach a Dask scheduler at 'tcp://127.0.0.1:1'" in capsys.readouterr().err


def test_a_worker_starts_tensorflow_without_its_start_up_lines():
    """Each worker of `jobs=N` printed TensorFlow's start-up lines (absl, oneDNN, cuInit)
    into the terminal; a worker is regkit's process, so it starts TensorFlow quietly, and
    passes on any other line."""
    code = (
        "import sys\n"
        "from regkit.experiments.run.parallel import worker_setup\n"
        "worker_setup({'intra': 1, 'inter': 1})\n"
        "assert 'tensorflow' in sys.modules\n"
        "print('other line', file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "other line"
