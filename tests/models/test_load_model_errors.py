"""`regkit.load_model` on a file that needs a class registered nowhere in this process says,
in a few lines, which class, where it was saved from and what to import (issue 32 item 9:
Keras' own TypeError is thousands of characters with that line buried inside)."""

from __future__ import annotations

import json
import zipfile

import keras
import pytest

import regkit


def _saved_with_class(path, module, class_name, registered):
    """A small model saved as `.keras`, its Dense layer renamed to a class of `module`."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="head")])
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    (head,) = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    head.update(module=module, class_name=class_name, registered_name=registered)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_a_class_of_another_package_is_named_with_its_module_in_a_short_message(tmp_path):
    path = _saved_with_class(tmp_path / "m.keras", "mylab.layers", "Scale", "mylab>Scale")
    with pytest.raises(TypeError) as keras_error:
        keras.saving.load_model(path)
    with pytest.raises(TypeError) as ours:
        regkit.load_model(path)
    message = str(ours.value)
    assert message == (
        f"Cannot load {str(path)!r}: it needs the class 'Scale' (registered as 'mylab>Scale', "
        "saved from module 'mylab.layers'), which is not registered in this process: import "
        "mylab.layers before loading (its class decorated with "
        "@keras.saving.register_keras_serializable()). regkit's own layers (DropPath, "
        "DropBlock2D) need nothing: regkit.load_model imports regkit.layers."
    )
    assert len(message) < len(str(keras_error.value)) / 2  # Keras repeats the whole config
    assert ours.value.__cause__ is None and ours.value.__suppress_context__


def test_a_regkit_class_this_version_lacks_says_which_regkit_to_use(tmp_path):
    path = _saved_with_class(tmp_path / "m.keras", "regkit.layers", "Shake", "regkit>Shake")
    with pytest.raises(TypeError, match=r"needs the class 'Shake' \(registered as 'regkit>Shake'"):
        regkit.load_model(path)
    with pytest.raises(
        TypeError, match=f"this regkit \\({regkit.__version__}\\) has no such class"
    ):
        regkit.load_model(path)
