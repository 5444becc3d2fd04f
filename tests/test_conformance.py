"""The conformance kit run over every built-in plugin, exactly as an author runs it.

Every check of every first-party plugin is one test here, so a new built-in data set, model
or preset is checked without new test code. Checks that train a step or save a model (and
every check of the ImageNet-sized transfer model) are marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo import Registry
from zoo.catalog.manager import BUILTIN_PLUGINS
from zoo.testing import plugin_checks

TINY_CSV = Path(__file__).parent / "fixtures" / "data" / "tiny.csv"
PARAMS = {
    "transfer": {"weights": "none", "image_size": 32, "alpha": 0.35},
    "csv": {"path": str(TINY_CSV), "target": "price"},
}
REGISTRY = Registry.discover(entry_points=False, warn=False)


def _slow(check_id: str) -> bool:
    return check_id.startswith("zoo.transfer:") or any(
        part in check_id for part in (":trains[", ":reloads")
    )


def _wanted(check_id: str) -> bool:
    # The transfer backbone costs seconds per build: one task is enough here, and
    # tests/test_models.py trains it on every data set it fits.
    return not check_id.startswith("zoo.transfer:transfer:") or (
        "regression" in check_id or check_id.endswith(":reloads")
    )


CHECKS = [
    pytest.param(check, id=check.id, marks=[pytest.mark.slow] if _slow(check.id) else [])
    for plugin in BUILTIN_PLUGINS
    for check in plugin_checks(plugin, registry=REGISTRY, params=PARAMS)
    if _wanted(check.id)
]


@pytest.mark.parametrize("check", CHECKS)
def test_built_in_plugin_conforms(check):
    check()


def test_every_built_in_entry_is_checked():
    checked = {param.id.split(":")[1] for param in CHECKS if param.id.count(":") >= 2}
    assert checked == {entry.name for entry in REGISTRY.list()}
