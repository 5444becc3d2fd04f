"""Plugin discovery through real installed distributions: a good one and broken ones."""

from __future__ import annotations

import pytest

from zoo import AmbiguousNameError, Registry, hookimpl
from zoo.core.spec import ModelSpec


def test_third_party_plugin_is_found_through_its_entry_point(with_example_plugin):
    registry = Registry.discover()
    record = registry.plugins["example"]
    assert (record.status, record.version, record.origin) == ("ok", "1.2.0", "entry point")
    assert record.contributes == {
        "datasets": ["line", "npz"],
        "models": ["tiny"],
        "presets": ["sgd-fast"],
    }
    assert registry.get("tiny").qualified_name == "example:tiny"


def test_third_party_entries_work_like_builtins(with_example_plugin):
    registry = Registry.discover()
    data = registry.create("datasets", "line", rows=10)
    assert data.x.shape == (10, 1)
    model = registry.create("models", "tiny", ModelSpec((1,), "regression", 1, "linear"), units=3)
    assert model.layers[0].units == 3
    about = registry.get("line").to_dict()
    assert [p["name"] for p in about["params"]] == ["rows", "slope"]


def test_autoload_can_be_switched_off(with_example_plugin, monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "example" not in Registry.discover().plugins


@pytest.fixture
def broken_registry(with_broken_plugins) -> Registry:
    return Registry.discover()


@pytest.mark.parametrize(
    ("plugin", "fragment"),
    [
        ("broken-import", "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'"),
        ("broken-hook", "register_models raised RuntimeError: the plugin's own bug"),
        ("broken-spec", "unknown hook register_modles"),
        ("broken-entry", "expected a callable, received str"),
    ],
)
def test_each_broken_plugin_is_reported_with_its_reason(broken_registry, plugin, fragment):
    record = broken_registry.plugins[plugin]
    assert record.status == "failed"
    assert fragment in record.error


def test_broken_plugins_do_not_break_the_rest(broken_registry):
    # Compared with the built-ins as a subset: other installed plugins (a user's data sets)
    # may add entries of their own.
    loaded = broken_registry.list("datasets")
    assert all(broken_registry.plugins[e.plugin].status == "ok" for e in loaded)
    builtin = Registry.discover(entry_points=False).list("datasets")
    assert {e.qualified_name for e in builtin} <= {e.qualified_name for e in loaded}
    assert "housing" in broken_registry.names("datasets")
    assert "linear" in broken_registry.names("models")
    assert broken_registry.plugins["zoo.mlp"].status == "ok"


def test_a_hook_that_raises_keeps_nothing_it_registered(broken_registry):
    assert "half-done" not in broken_registry.names("models")
    assert broken_registry.plugins["broken-hook"].contributes == {}


def test_a_duplicate_name_from_an_installed_plugin_is_an_error_naming_both(broken_registry):
    with pytest.raises(AmbiguousNameError, match="'zoo.mlp' and 'shadow'|'shadow' and 'zoo.mlp'"):
        broken_registry.get("mlp")
    assert broken_registry.get("shadow:mlp").plugin == "shadow"


class Twice:
    @hookimpl
    def register_models(self, register):
        from zoo.plugins.mlp import build_mlp

        register("same", build_mlp, description="first")
        register("same", build_mlp, description="second")


class Malformed:
    def __init__(self, **metadata):
        self.metadata = metadata

    @hookimpl
    def register_datasets(self, register):
        register("bad", lambda: None, **self.metadata)


def test_one_plugin_registering_a_name_twice_fails():
    registry = Registry.discover(builtins=False, entry_points=False, extra=[("twice", Twice())])
    assert "registered model 'same' twice" in registry.plugins["twice"].error
    assert registry.names("models") == []


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ({}, "missing required keyword(s) description, task, input_kind, shape"),
        (
            {"description": "d", "task": "clustering", "input_kind": "tabular", "shape": (1,)},
            "multiclass or 'inferred', received 'clustering'",
        ),
        (
            {"description": "d", "task": "regression", "input_kind": "tabular", "shape": (0,)},
            "shape must be a tuple of positive ints",
        ),
        (
            {
                "description": "d",
                "task": "regression",
                "input_kind": "tabular",
                "shape": (1,),
                "colour": "red",
            },
            "unknown keyword(s) colour",
        ),
    ],
)
def test_malformed_metadata_is_rejected_with_the_reason(metadata, fragment):
    registry = Registry.discover(
        builtins=False, entry_points=False, extra=[("bad", Malformed(**metadata))]
    )
    assert registry.plugins["bad"].status == "failed"
    assert fragment in registry.plugins["bad"].error


def test_a_malformed_name_is_rejected():
    class BadName:
        @hookimpl
        def register_presets(self, register):
            register("Has Spaces", lambda: None, description="x")

    registry = Registry.discover(builtins=False, entry_points=False, extra=[("n", BadName())])
    assert "a name must be lower-case letters" in registry.plugins["n"].error
