"""Renamed names keep working for two minor releases with a DeprecationWarning that names
the replacement (docs/stability.md)."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_variant_spec_is_variant_with_a_warning_naming_it():
    import regkit.experiments as experiments

    expected = r"VariantSpec .*removed in regkit 0\.6\.0.*Variant"
    with pytest.warns(DeprecationWarning, match=expected):
        old = experiments.VariantSpec
    assert old is experiments.Variant
    with pytest.raises(AttributeError):
        experiments.NoSuchName  # noqa: B018


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("stats", "report.stats"),
        ("specs", "study.specs"),
        ("verdicts", "report.collapse"),
        ("results", "report.results"),
        ("records", "study.records"),
        ("study_config", "study.config"),
    ],
)
def test_0_3_module_paths_still_import_with_a_warning(old, new):
    sys.modules.pop(f"regkit.experiments.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"regkit.experiments.{new}"):
        module = importlib.import_module(f"regkit.experiments.{old}")
    target = importlib.import_module(f"regkit.experiments.{new}")
    public = getattr(target, "__all__", [])
    assert public and all(getattr(module, name) is getattr(target, name) for name in public)
