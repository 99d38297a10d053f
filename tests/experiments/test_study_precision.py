"""compare(precision=...): the resolved policy is recorded, runs train under it, the
caller's global policy comes back, and a change refuses finished runs."""

from __future__ import annotations

import json

import pytest

QUICK = {"epochs": 1, "limit": 48, "verbose": 0, "plots": False, "batch_size": 16}


def test_runs_train_under_the_study_policy_and_the_callers_comes_back(tmp_path):
    import keras

    from regkit import compare

    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.model.layers[1].compute_dtype)

    keras.config.set_dtype_policy("float32")
    report = compare(
        "baseline", precision="mixed_bfloat16", out_dir=tmp_path, callbacks=[Probe()], **QUICK
    )
    assert seen == ["bfloat16"]
    assert keras.config.dtype_policy().name == "float32"
    assert report.config["precision"] == "mixed_bfloat16"
    settings = json.loads((tmp_path / "baseline" / "seed0" / "settings.json").read_text())
    assert settings["precision"] == "mixed_bfloat16"
    assert report.runs[0].status == "ok"


def test_auto_is_recorded_as_the_policy_it_resolved_to(monkeypatch):
    from regkit.device import precision as device_precision
    from regkit.experiments.study.config import StudyConfig

    facts = device_precision.DeviceFacts(cpu_flags=frozenset({"amx_bf16"}))
    monkeypatch.setattr(device_precision, "device_facts", lambda: facts)
    assert StudyConfig(precision="auto").checked("precision") == "mixed_bfloat16"
    facts = device_precision.DeviceFacts(cpu_flags=frozenset())
    monkeypatch.setattr(device_precision, "device_facts", lambda: facts)
    assert StudyConfig(precision="auto").checked("precision") == "float32"
    with pytest.raises(ValueError, match=r"argument `precision`.*float16"):
        StudyConfig(precision="float16").checked("precision")


def test_a_folder_written_before_precision_existed_counts_as_float32():
    from regkit.experiments.run.ledger import setting_defaults

    assert setting_defaults()["precision"] == "float32"
