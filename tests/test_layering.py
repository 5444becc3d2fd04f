"""The architecture, held by tests where import-linter cannot see: first-party plugins import
only the public plugin module, modules stay small, and the calls between the core layers are
typed (no bare ``Any``)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = sorted([*(ROOT / "zoo").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
MAX_LINES = 400


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "plugins").rglob("*.py")), ids=str)
def test_first_party_plugins_import_only_the_public_plugin_module(path):
    zoo_imports = [m for m in _imported_modules(path) if m == "zoo" or m.startswith("zoo.")]
    wrong = [m for m in zoo_imports if m != "zoo.plugin" and not m.startswith("zoo.plugins")]
    assert not wrong, f"{path.name} imports {wrong}; plugins import only zoo.plugin"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it"


def _cross_layer_callables():
    from zoo.plan import planning
    from zoo.runs import folder
    from zoo.train import finetune, fitting, job, runner

    yield planning.plan
    yield from (runner.execute, runner.build_model, runner.split_for_training)
    yield runner.load_checked
    yield from (fitting.fit, fitting.with_input_scaling, fitting.part_outputs)
    yield finetune.fine_tune
    for cls in (job.Job, folder.RunFolder):
        yield from (f for name, f in vars(cls).items() if inspect.isfunction(f))


def test_calls_between_core_layers_name_their_types():
    untyped = []
    for function in _cross_layer_callables():
        for name, annotation in function.__annotations__.items():
            exempt = ("return", "progress", "details")  # progress: any callback factory
            if str(annotation).strip("'\"") == "Any" and name not in exempt:
                untyped.append(f"{function.__qualname__}({name})")
    assert not untyped, f"parameters typed Any between layers: {untyped}"
