"""regkit: regularized Keras 3 model builders and the tools a regularization study needs.

`import regkit` is light: it loads no TensorFlow, tensorflow_datasets, matplotlib or
scikit-learn. Each public name is imported on first use (PEP 562), so
`from regkit import build_cnn` loads Keras then, and `regkit --version` never does.

Example:
    >>> from regkit import Regularization, build_cnn
    >>> model = build_cnn((32, 32, 3), 10, reg=Regularization.preset("all"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from regkit._version import __version__

# public name -> module that defines it
_LAZY_ATTRS: dict[str, str] = {
    "Regularization": "regkit.config",
    "auto_bn_momentum": "regkit.config",
    "apply_regularization": "regkit.regularization",
    "load_model": "regkit.regularization",
    "conv_block": "regkit.blocks",
    "inverted_residual": "regkit.blocks",
    "dense_head": "regkit.blocks",
    "build_cnn": "regkit.models",
    "build_mobilenet_v2": "regkit.models",
    "build_resnet": "regkit.models",
    "compile_model": "regkit.training",
    "compare": "regkit.experiments",
    "Report": "regkit.experiments",
    "Variant": "regkit.experiments",
}
_LAZY_MODULES = (
    "data",
    "callbacks",
    "device",
    "plots",
    "experiments",
    "models",
    "blocks",
    "layers",
)

__all__ = [
    "Regularization",
    "Report",
    "Variant",
    "__version__",
    "apply_regularization",
    "auto_bn_momentum",
    "build_cnn",
    "build_mobilenet_v2",
    "build_resnet",
    "callbacks",
    "compare",
    "compile_model",
    "conv_block",
    "data",
    "dense_head",
    "device",
    "inverted_residual",
    "layers",
    "load_model",
    "plots",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from regkit import callbacks, data, device, layers, plots
    from regkit.blocks import conv_block, dense_head, inverted_residual
    from regkit.config import Regularization, auto_bn_momentum
    from regkit.experiments import Report, Variant, compare
    from regkit.models import build_cnn, build_mobilenet_v2, build_resnet
    from regkit.regularization import apply_regularization, load_model
    from regkit.training import compile_model


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"regkit.{name}")
    else:
        raise AttributeError(f"module 'regkit' has no attribute {name!r}")
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
