"""Deprecated alias of `regkit.experiments.study.records` (moved there in 0.4; removed in 0.6,
docs/stability.md)."""

from regkit.experiments import deprecated_module

__getattr__, __dir__ = deprecated_module(__name__, "regkit.experiments.study.records")
