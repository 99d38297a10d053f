"""Tests for regkit.device: set-up on this CPU machine, and the GPU logic with fake GPUs."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from regkit import device

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
cpu_only = pytest.mark.skipif(HAS_GPU, reason="checks the CPU-only behaviour")


@pytest.fixture
def restore_determinism():
    yield
    from tensorflow.python.framework.config import disable_op_determinism

    disable_op_determinism()


@cpu_only
def test_setup_on_cpu_reports_no_gpu_and_changes_nothing():
    before = keras.config.dtype_policy().name
    report = device.setup()
    assert report.gpus == ()
    assert not report.has_gpu
    assert report.policy == before == "float32"
    assert report.policy_changed is False
    assert report.memory_growth == ()
    text = str(report)
    assert "no GPU" in text
    assert "dtype policy: float32 - no GPU: left as float32" in text
    assert keras.config.dtype_policy().name == before


@cpu_only
def test_setup_twice_is_safe_and_leaves_a_chosen_policy_alone():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    first = device.setup()
    second = device.setup()
    assert first == second
    assert second.policy == "mixed_bfloat16"
    assert not second.policy_changed


@cpu_only
@pytest.mark.parametrize("request_", [True, "mixed_float16"])
def test_mixed_float16_on_cpu_is_refused_clearly(request_):
    with pytest.raises(ValueError, match="mixed_float16 needs a GPU and TensorFlow sees none"):
        device.setup(mixed_precision=request_)
    assert keras.config.dtype_policy().name == "float32"


@cpu_only
def test_explicit_bfloat16_and_float32_policies_on_cpu():
    report = device.setup(mixed_precision="mixed_bfloat16")
    assert report.policy == "mixed_bfloat16"
    assert report.policy_changed
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    report = device.setup(mixed_precision=False)
    assert report.policy == "float32"
    assert report.policy_changed


def test_unknown_mixed_precision_lists_choices():
    with pytest.raises(ValueError) as err:
        device.setup(mixed_precision="fp16")
    assert str(err.value) == (
        "Invalid value for argument `mixed_precision`: expected one of 'auto', True, False, "
        "'mixed_float16', 'mixed_bfloat16', 'float32'. Received: mixed_precision='fp16'"
    )
    with pytest.raises(TypeError, match="seed"):
        device.setup(seed="zero")


def test_seed_makes_random_draws_repeatable():
    device.setup(seed=123)
    a = (np.random.rand(3), keras.random.uniform((3,)).numpy())
    device.setup(seed=123)
    b = (np.random.rand(3), keras.random.uniform((3,)).numpy())
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_deterministic_turns_on_op_determinism(restore_determinism):
    from tensorflow.python.framework.config import is_op_determinism_enabled

    report = device.setup(seed=1, deterministic=True)
    assert report.deterministic
    assert is_op_determinism_enabled()
    assert "op determinism: on" in str(report)
    report = device.setup(deterministic=True)
    assert any("no seed" in n for n in report.notes)


class _FakeGPUs:
    """Stands in for tf.config's GPU queries: TensorFlow sees `caps` GPUs on this machine."""

    def __init__(self, caps, initialised=False):
        self.devices = [
            SimpleNamespace(name=f"/physical_device:GPU:{i}", device_type="GPU")
            for i in range(len(caps))
        ]
        self.caps = dict(zip((d.name for d in self.devices), caps, strict=True))
        self.growth = {d.name: False for d in self.devices}
        self.initialised = initialised

    def install(self, monkeypatch):
        exp = tf.config.experimental
        real_list = tf.config.list_physical_devices

        def list_devices(device_type=None):
            if device_type == "GPU":
                return list(self.devices)
            return real_list(device_type)

        monkeypatch.setattr(tf.config, "list_physical_devices", list_devices)
        monkeypatch.setattr(
            exp, "get_device_details", lambda d: {"compute_capability": self.caps[d.name]}
        )
        monkeypatch.setattr(exp, "get_memory_growth", lambda d: self.growth[d.name])
        monkeypatch.setattr(exp, "set_memory_growth", self._set_growth)

    def _set_growth(self, d, value):
        if self.initialised:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth[d.name] = value


def test_modern_gpus_get_memory_growth_and_mixed_float16(monkeypatch):
    fake = _FakeGPUs([(8, 9), (7, 0)])
    fake.install(monkeypatch)
    report = device.setup()
    assert report.gpus == ("/physical_device:GPU:0", "/physical_device:GPU:1")
    assert report.compute_capabilities == ((8, 9), (7, 0))
    assert report.memory_growth == ("on", "on")
    assert fake.growth == {"/physical_device:GPU:0": True, "/physical_device:GPU:1": True}
    assert report.policy == "mixed_float16"
    assert report.policy_changed
    assert keras.config.dtype_policy().name == "mixed_float16"
    again = device.setup()  # safe twice: nothing left to change
    assert again.memory_growth == ("already on", "already on")
    assert not again.policy_changed
    assert "compute capability 8.9, memory growth already on" in str(again)
    assert json.loads(json.dumps(again.to_dict()))["compute_capabilities"] == [[8, 9], [7, 0]]


def test_one_old_gpu_keeps_float32_and_refuses_forced_float16(monkeypatch):
    _FakeGPUs([(8, 0), (6, 1)]).install(monkeypatch)
    report = device.setup()
    assert report.policy == "float32"
    assert "compute capability < 7.0" in report.policy_reason
    with pytest.raises(ValueError, match=r"capability >= 7\.0 on every GPU"):
        device.setup(mixed_precision=True)


def test_memory_growth_after_initialisation_is_reported_not_raised(monkeypatch):
    _FakeGPUs([(8, 6)], initialised=True).install(monkeypatch)
    report = device.setup()
    assert report.memory_growth[0].startswith("not set: GPUs already initialised")
    report = device.setup(memory_growth=False, mixed_precision=False)
    assert report.memory_growth == ("left as is (memory_growth=False)",)
    assert report.policy == "float32"


def test_info_and_describe_change_nothing(monkeypatch):
    info = device.info()
    assert info["versions"]["keras"] == keras.__version__
    assert info["versions"]["tensorflow"] == tf.__version__
    assert any("CPU" in d for d in info["devices"])
    json.dumps(info)
    text = device.describe()
    assert f"Keras {keras.__version__}" in text
    fake = _FakeGPUs([(9, 0)])
    fake.install(monkeypatch)
    assert "set policy mixed_float16" in device.describe()
    assert device.info()["setup_would"]["memory_growth"] is True
    assert fake.growth == {"/physical_device:GPU:0": False}
    assert keras.config.dtype_policy().name == "float32"


@cpu_only
def test_strategy_default_on_cpu_and_explicit_devices():
    assert device.strategy() is tf.distribute.get_strategy()
    one = device.strategy(["/cpu:0"])
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    with pytest.raises(ValueError, match="at least one device"):
        device.strategy([])
    with pytest.raises(ValueError, match="sequence of device names"):
        device.strategy("/cpu:0")


def test_strategy_mirrors_over_two_gpus(monkeypatch):
    _FakeGPUs([(8, 0), (8, 0)]).install(monkeypatch)
    created = {}

    class FakeMirrored:
        def __init__(self, devices=None):
            created["devices"] = devices

    monkeypatch.setattr(tf.distribute, "MirroredStrategy", FakeMirrored)
    assert isinstance(device.strategy(), FakeMirrored)
    assert created == {"devices": None}


def test_importing_device_and_plots_stays_light():
    code = (
        "import sys, regkit.device, regkit.plots; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_strategy_reads_tf_config_but_one_worker_is_not_a_cluster(monkeypatch):
    import tensorflow as tf

    one = '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}'
    monkeypatch.setenv("TF_CONFIG", one)
    assert device.strategy() is tf.distribute.get_strategy()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="environment variable `TF_CONFIG`"):
        device.strategy()


def test_versions_is_the_one_collector_and_imports_nothing_heavy():
    code = (
        "import json, sys; from regkit.device import versions; "
        "print(json.dumps([versions(), 'tensorflow' in sys.modules, 'keras' in sys.modules]))"
    )
    found, tf_loaded, keras_loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert (tf_loaded, keras_loaded) == (False, False)
    assert found["tensorflow"] == tf.__version__ and found["keras"] == keras.__version__
    assert found["numpy"] == np.__version__
    assert {"python", "platform", "regkit"} <= set(found)
    assert device.info()["versions"] == found  # info() reports the same collector


# ------------------------------------------------------------------ precision (issue 29)
def _facts(*caps, flags=()):
    gpus = tuple(device.GPUFacts(f"/physical_device:GPU:{i}", cc) for i, cc in enumerate(caps))
    return device.DeviceFacts(cpu_flags=frozenset(flags), gpus=gpus)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (_facts(flags=("fpu", "avx512f", "amx_bf16", "amx_tile")), "mixed_bfloat16"),
        (_facts(flags=("avx512f", "avx512_bf16")), "mixed_bfloat16"),
        (_facts(flags=("avx2", "avx512f", "avx512_fp16")), "float32"),  # no bfloat16 flag
        (_facts(), "float32"),
        (_facts((8, 0)), "mixed_bfloat16"),
        (_facts((9, 0), (8, 9)), "mixed_bfloat16"),
        (_facts((7, 5)), "mixed_float16"),
        (_facts((7, 0), flags=("amx_bf16",)), "mixed_float16"),  # the GPU trains, not the CPU
        (_facts((8, 9), (7, 0)), "mixed_float16"),  # the slowest GPU decides
        (_facts((6, 1), flags=("amx_bf16",)), "float32"),
        (_facts((8, 0), None), "float32"),  # unknown capability: no guess
    ],
)
def test_auto_precision_rule(facts, expected):
    assert device.resolve_precision("auto", facts) == expected
    choice = device.choose_precision("auto", facts)
    assert choice.policy == expected and choice.reason


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_explicit_precision_is_returned_as_asked(precision):
    for facts in (_facts(), _facts((6, 1)), _facts(flags=("amx_bf16",))):
        assert device.resolve_precision(precision, facts) == precision
    assert device.choose_precision(precision, _facts()).reason == "requested"


@pytest.mark.parametrize("bad", ["fp16", "bfloat16", "AUTO", True, 16])
def test_unknown_precision_lists_the_choices(bad):
    expected = (
        "Invalid value for argument `precision`: expected one of 'float32', 'mixed_bfloat16', "
        f"'mixed_float16', 'auto'. Received: precision={bad!r}"
    )
    with pytest.raises(ValueError) as err:
        device.resolve_precision(bad, _facts())
    assert str(err.value) == expected
    with pytest.raises(ValueError) as err, device.precision_policy(bad):
        pass
    assert str(err.value) == expected
    with pytest.raises(ValueError) as err:
        device.setup(precision=bad)
    assert str(err.value) == expected
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match=r"Received: precision=None"):
        device.resolve_precision(None, _facts())  # None means "not given" to setup only


def test_cpu_flags_read_x86_and_arm_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu AVX512F amx_bf16\n\nprocessor\t: 1\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert device.cpu_flags(x86) == {"fpu", "avx512f", "amx_bf16"}
    assert device.cpu_flags(arm) == {"fp", "asimd", "bf16"}
    assert device.cpu_flags(tmp_path / "missing") == frozenset()
    facts = device.device_facts()
    assert facts.cpu_flags == device.cpu_flags()
    assert len(facts.gpus) == len(tf.config.list_physical_devices("GPU"))


def test_precision_policy_sets_and_restores_the_callers_policy():
    keras.config.set_dtype_policy("mixed_float16")  # the caller's own choice
    with device.precision_policy("mixed_bfloat16") as policy:
        assert policy == keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        with device.precision_policy("float32"):  # nested
            assert keras.config.dtype_policy().name == "float32"
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert layer.compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "mixed_float16"
    with pytest.raises(RuntimeError, match="boom"), device.precision_policy("float32"):
        raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == "mixed_float16"
    with device.precision_policy("mixed_bfloat16"):
        keras.backend.clear_session()  # resets Keras' policy to float32 inside the block
    assert keras.config.dtype_policy().name == "mixed_float16"


def test_precision_policy_restores_an_unset_policy_and_resolves_auto():
    from keras.src.backend.common import global_state

    keras.backend.clear_session()  # nobody has set a policy: Keras follows floatx
    assert global_state.get_global_attribute("dtype_policy") is None
    with device.precision_policy("auto", _facts(flags=("amx_bf16",))) as policy:
        assert policy == keras.config.dtype_policy().name == "mixed_bfloat16"
    assert global_state.get_global_attribute("dtype_policy") is None  # not pinned to float32
    with device.precision_policy("auto", _facts((7, 5))) as policy:
        assert policy == "mixed_float16"
    with device.precision_policy("auto", _facts()) as policy:
        assert policy == "float32"


def test_setup_precision_sets_the_resolved_policy_and_says_so(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    report = device.setup(precision="auto")
    assert report.policy == keras.config.dtype_policy().name == "mixed_bfloat16"
    assert report.policy_changed
    assert report.policy_reason == (
        "precision='auto': no GPU; the CPU computes bfloat16 in hardware (amx_bf16)"
    )
    assert "dtype policy: mixed_bfloat16 (changed)" in str(report)
    assert report.notes == ()
    monkeypatch.setattr(device, "cpu_flags", frozenset)
    report = device.setup(precision="auto")
    assert report.policy == "float32" and report.policy_changed
    with pytest.raises(ValueError, match="give `precision` or `mixed_precision`, not both"):
        device.setup(precision="float32", mixed_precision=False)
    assert keras.config.dtype_policy().name == "float32"


@cpu_only
def test_setup_precision_honours_a_slow_request_with_a_note(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", frozenset)
    report = device.setup(precision="mixed_float16")  # unlike mixed_precision=True: allowed
    assert report.policy == "mixed_float16"
    assert report.notes == (
        "mixed_float16 without a GPU: float16 is emulated on the CPU, slower than float32",
    )
    report = device.setup(precision="mixed_bfloat16")
    assert report.notes == ("mixed_bfloat16 on a CPU without bfloat16 arithmetic: likely slower",)


def test_setup_precision_auto_on_gpus(monkeypatch):
    _FakeGPUs([(7, 5)]).install(monkeypatch)
    report = device.setup(precision="auto")
    assert report.policy == "mixed_float16"
    assert report.policy_reason.endswith("every GPU has compute capability >= 7.0 (lowest 7.5)")
    report = device.setup(precision="mixed_bfloat16")
    assert report.notes == (
        "mixed_bfloat16 on a GPU without fast bfloat16 tensor cores: likely slower",
    )


def test_info_and_describe_say_what_auto_would_choose(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_bf16", "amx_bf16"}))
    found = device.info()["precision_auto"]
    assert found == {
        "dtype_policy": "mixed_bfloat16",
        "reason": "no GPU; the CPU computes bfloat16 in hardware (amx_bf16, avx512_bf16)",
        "cpu_bfloat16_flags": ["amx_bf16", "avx512_bf16"],
    }
    assert 'precision="auto" would use: mixed_bfloat16 (no GPU; ' in device.describe()
    _FakeGPUs([(9, 0)]).install(monkeypatch)
    assert 'precision="auto" would use: mixed_bfloat16 (every GPU' in device.describe()
    assert keras.config.dtype_policy().name == "float32"  # nothing changed
