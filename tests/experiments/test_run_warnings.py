"""Warnings that explain: a run that looks `ok` but is not says why, in plain words."""

from __future__ import annotations

from regkit.experiments.report.analysis import run_warnings
from regkit.experiments.report.results import RunResult


def _run(history, **figures):
    return RunResult.from_history("v", 0, history, **figures)


def _healthy(epochs=5):
    return {
        "loss": [1.5 - 0.2 * e for e in range(epochs)],
        "val_loss": [1.6 - 0.2 * e for e in range(epochs)],
        "accuracy": [0.5 + 0.08 * e for e in range(epochs)],
        "val_accuracy": [0.45 + 0.08 * e for e in range(epochs)],
        "reg_loss_share": [0.1] * epochs,
        "conv_kernel_norm": [10.0 + e for e in range(epochs)],
        "conv_effective_lr": [1e-3 / (10.0 + e) ** 2 for e in range(epochs)],
    }


def test_a_healthy_run_has_no_warning():
    assert run_warnings(_run(_healthy()), num_classes=10, batch_norm=True, penalty=True) == []


def test_l2_of_1e3_penalty_share_is_named():
    """Issue 15: L2 = 1e3 (penalty 93% of the loss) was reported `ok` without a word."""
    history = _healthy()
    history["reg_loss_share"] = [0.95, 0.94, 0.93, 0.93, 0.93]
    (warning,) = run_warnings(_run(history), num_classes=10)
    assert warning.startswith("penalty is 93% of the loss at the best epoch")
    assert "smaller l1/l2" in warning


def test_learning_rate_10_loss_and_chance_accuracy_are_named():
    """Issue 15: learning rate 10 gave a loss of 4e6 and stayed at chance, reported `ok`."""
    history = {
        "loss": [2.3, 4.0e6, 3.9e6, 4.1e6, 4.0e6],
        "val_loss": [2.4, 3.0e6, 2.9e6, 3.0e6, 3.0e6],
        "accuracy": [0.11, 0.10, 0.09, 0.10, 0.11],
        "val_accuracy": [0.10, 0.10, 0.10, 0.10, 0.10],
        "conv_kernel_norm": [10.0, 5e3, 8e3, 9e3, 1e4],
    }
    run = _run(history)
    assert run.status == "ok"  # finite: nothing diverged, and yet
    warnings = run_warnings(run, num_classes=10)
    assert any(w.startswith("training loss rose 1.78e+06x (from 2.3 to 4.1e+06)") for w in warnings)
    assert any(w.startswith("global weight norm grew 1e+03x (from 10 to 1e+04)") for w in warnings)
    assert any(
        w.startswith("training accuracy 0.11 after 5 epochs is chance level (1/10 = 0.10)")
        for w in warnings
    )


def test_chance_is_warned_at_any_run_length():
    """Issue 32: a 1-epoch league run of 16 variants was at chance everywhere, without a word."""
    for epochs in (1, 2):
        history = {
            "loss": [2.3] * epochs,
            "val_loss": [2.3] * epochs,
            "accuracy": [0.11] * epochs,
            "val_accuracy": [0.1] * epochs,
        }
        (warning,) = run_warnings(_run(history, test_accuracy=0.1), num_classes=10)
        plural = "s" if epochs > 1 else ""
        assert warning.startswith(
            f"training accuracy 0.11 after {epochs} epoch{plural} is chance level (1/10 = 0.10)"
        )
        assert f"{epochs} epoch{plural} may be too few to learn" in warning
    learning = _healthy(epochs=1)  # one epoch well above chance: nothing to say
    assert run_warnings(_run(learning, test_accuracy=0.5), num_classes=10) == []


def test_a_short_run_whose_figures_sit_at_chance_while_training_learns_is_warned():
    history = _healthy(epochs=1)
    history["val_accuracy"] = [0.1]  # one epoch: BatchNorm's statistics lag
    (warning,) = run_warnings(_run(history), num_classes=10, batch_norm=True)
    assert warning.startswith("validation accuracy stays at chance (0.10) while training")
    (warning,) = run_warnings(_run(_healthy(epochs=2), test_accuracy=0.1), num_classes=10)
    assert warning.startswith("test accuracy 0.10 is chance level (1/10 = 0.10)")


def test_validation_stuck_at_chance_under_batch_norm_points_to_the_momentum():
    history = _healthy()
    history["val_accuracy"] = [0.10, 0.09, 0.11, 0.10, 0.10]
    (warning,) = run_warnings(_run(history), num_classes=10, batch_norm=True)
    assert warning.startswith("validation accuracy stays at chance (0.11) while training")
    assert "bn_momentum='auto'" in warning
    (plain,) = run_warnings(_run(history), num_classes=10, batch_norm=False)
    assert "bn_momentum" not in plain


def test_effective_learning_rate_collapse_and_rise_under_batch_norm():
    collapsing = _healthy()
    collapsing["conv_effective_lr"] = [1e-3, 1e-4, 1e-5, 5e-6, 1e-6]
    (warning,) = run_warnings(_run(collapsing), num_classes=10, batch_norm=True)
    assert warning.startswith(
        "effective learning rate (lr / ||w||^2) of the BatchNorm'd kernels collapsed 1e+03x"
    )
    rising = _healthy()
    rising["conv_effective_lr"] = [1e-5, 1e-4, 1e-3, 5e-3, 1e-2]
    (warning,) = run_warnings(_run(rising), num_classes=10, batch_norm=True, penalty=True)
    assert "rose 1e+03x" in warning
    assert "L2 under BatchNorm shrinks the kernels" in warning
    # without BatchNorm the effective learning rate means nothing: not looked at
    assert run_warnings(_run(rising), num_classes=10, batch_norm=False) == []


def test_a_failed_run_has_no_warnings_to_give():
    run = RunResult.failed("v", 0, RuntimeError("boom"))
    assert run_warnings(run, num_classes=10) == []


def test_under_batch_norm_a_large_penalty_share_is_explained_not_blamed():
    """On digits, BN + L2 1e-3 keeps ~98% of the loss in the penalty and still reaches 0.98."""
    history = _healthy()
    history["reg_loss_share"] = [0.97] * 5
    (warning,) = run_warnings(_run(history), num_classes=10, batch_norm=True, penalty=True)
    assert warning.startswith("penalty is 97% of the loss at the best epoch: under BatchNorm")
    assert "scale-invariant kernels" in warning


def test_compare_fills_the_warnings_and_says_them_as_runs_finish(capsys):
    from regkit.experiments import compare

    report = compare(
        "crushed:l2=1",
        epochs=3,
        limit=200,
        batch_size=16,
        model_kwargs={"filters": (8,), "dense_units": (16,)},
        run_eagerly=True,
    )
    (run,) = report.runs
    assert run.status == "collapsed"  # 3 epochs at chance: a finding, not an error
    assert any("chance level" in w for w in run.warnings)  # in memory, without out_dir
    printed = capsys.readouterr().out
    assert "    warning: training accuracy" in printed
    assert "collapsed, " in str(report) and "warning" in str(report)


def test_a_one_epoch_league_at_chance_says_so_in_its_report():
    """Issue 32: 16 variants trained for 1 epoch sat at chance and every row said `ok`."""
    from regkit.experiments.report.results import Report, Variant

    history = {"loss": [2.3], "val_loss": [2.3], "accuracy": [0.1], "val_accuracy": [0.1]}
    names = ("baseline", "l2", "bn")
    report = Report(
        variants={name: Variant(name) for name in names},
        runs=[RunResult.from_history(name, 0, history, test_accuracy=0.1) for name in names],
        config={"num_classes": 10, "epochs": 1},
    )
    text = report.to_markdown()
    assert text.count("ok, 1 warning") == 3  # the table's Status column
    assert "## Warnings" in text
    assert "training accuracy 0.10 after 1 epoch is chance level (1/10 = 0.10)" in text
    assert "ok, 1 warning" in str(report)  # the terminal table
