"""Every hook's documented example is real code: it registers and works as a plugin."""

from __future__ import annotations

import inspect
import textwrap
import types

import pytest

from zoo import Registry
from zoo.catalog import hookspecs
from zoo.core.spec import ModelSpec

HOOKS = ["register_datasets", "register_models", "register_presets"]


def example_plugin(hook: str) -> types.ModuleType:
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and "Example::" in doc, f"{hook} has no example"
    code = textwrap.dedent(doc.split("Example::", 1)[1])
    module = types.ModuleType(f"example_{hook}")
    exec(compile(code, f"<{hook} example>", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_example_registers_cleanly(hook):
    registry = Registry.discover(
        builtins=False, entry_points=False, extra=[("example", example_plugin(hook))]
    )
    record = registry.plugins["example"]
    assert record.status == "ok", record.error
    assert list(record.contributes) == [hook.removeprefix("register_")]


def test_examples_produce_usable_entries():
    plugins = [(f"ex{i}", example_plugin(h)) for i, h in enumerate(HOOKS)]
    registry = Registry.discover(builtins=False, entry_points=False, extra=plugins)
    data = registry.create("datasets", "line", rows=5)
    assert data.x.shape == (5, 1)
    model = registry.create("models", "tiny", ModelSpec((1,), "regression", 1, "linear"))
    assert model.output_shape == (None, 1)
    settings = registry.create("presets", "sgd-momentum", momentum=0.5)
    assert settings.optimizer["config"]["momentum"] == 0.5


def test_every_hook_in_the_spec_is_covered():
    declared = sorted(n for n in vars(hookspecs) if n.startswith("register_"))
    assert declared == HOOKS


@pytest.mark.parametrize("kind", ["datasets", "models", "presets"])
def test_every_register_keyword_is_in_its_hook_s_docstring(kind):
    from zoo.catalog.entries import SCHEMAS

    doc = inspect.getdoc(getattr(hookspecs, f"register_{kind}"))
    signature = doc.split("``register(", 1)[1].split(")``", 1)[0]
    assert all(key in signature for key in SCHEMAS[kind]), signature
