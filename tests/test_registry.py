"""The registry API: listing, lookup, ambiguity, descriptions and overrides."""

from __future__ import annotations

import pytest

from zoo import (
    AmbiguousNameError,
    InvalidParameterError,
    Registry,
    UnknownNameError,
    hookimpl,
)


class Shadow:
    """An in-process plugin that registers a second 'housing' and a distinct model."""

    @hookimpl
    def register_datasets(self, register):
        from zoo.plugins.housing import load_housing

        register(
            "housing",
            load_housing,
            description="a copy",
            task="regression",
            input_kind="tabular",
            shape=(13,),
        )

    @hookimpl
    def register_models(self, register):
        def build_wide(spec, width: int = 64, depth: int = 2):
            raise NotImplementedError

        register("wide", build_wide, description="not built in these tests")


@pytest.fixture
def registry() -> Registry:
    return Registry.discover(entry_points=False)


@pytest.fixture
def shadowed() -> Registry:
    return Registry.discover(entry_points=False, extra=[("shadow", Shadow())])


def test_builtins_register_through_the_hooks(registry):
    assert "housing" in registry.names("datasets")
    assert {"linear", "mlp"} <= set(registry.names("models"))
    assert "adam-mse" in registry.names("presets")
    assert {r.status for r in registry.plugins.values()} == {"ok"}


def test_list_filters_by_kind_and_wildcard(registry):
    assert [e.name for e in registry.list("models", "m*")] == ["mlp"]
    assert [e.name for e in registry.list("model", "*ear")] == ["linear"]
    assert [e.name for e in registry.list(pattern="zoo.mlp:*")] == ["mlp"]
    assert registry.list("datasets", "nothing*") == []


def test_list_rejects_an_unknown_kind(registry):
    with pytest.raises(UnknownNameError, match="expected one of datasets, models, presets"):
        registry.list("widgets")


def test_get_by_short_and_qualified_name(registry):
    assert registry.get("mlp").qualified_name == "zoo.mlp:mlp"
    assert registry.get("zoo.mlp:mlp", "models").name == "mlp"


def test_unknown_name_suggests_close_names_and_how_to_list(registry):
    with pytest.raises(UnknownNameError) as caught:
        registry.get("mpl", "models")
    message = str(caught.value)
    assert "Unknown model 'mpl'" in message
    assert "Did you mean: mlp?" in message
    assert "zoo list models" in message


def test_same_name_from_two_plugins_is_ambiguous_but_qualified_names_work(shadowed):
    with pytest.raises(AmbiguousNameError) as caught:
        shadowed.get("housing", "datasets")
    message = str(caught.value)
    assert "'zoo.housing'" in message and "'shadow'" in message
    assert "shadow:housing" in message and "zoo.housing:housing" in message
    assert shadowed.get("shadow:housing").plugin == "shadow"
    assert shadowed.get("zoo.housing:housing").plugin == "zoo.housing"
    names = shadowed.names("datasets")
    assert {"shadow:housing", "zoo.housing:housing"} <= set(names) and "housing" not in names


def test_an_entry_describes_itself_with_hyperparameters_with_defaults_and_help(registry):
    about = registry.get("mlp").to_dict()
    assert about["plugin"] == "zoo.mlp"
    params = {p["name"]: p for p in about["params"]}
    assert params["hidden"]["default"] == (32, 16)
    assert params["activation"]["default"] == "relu"
    assert "hidden layer" in params["hidden"]["help"]


def test_a_dataset_entry_describes_includes_its_card_metadata(registry):
    meta = registry.get("housing").to_dict()["metadata"]
    assert meta["task"] == "regression" and meta["shape"] == (13,) and meta["rows"] == 506
    assert "Black residents" in meta["caveat"]


def test_create_passes_overrides(registry):
    settings = registry.create("presets", "adam-mse", learning_rate=0.01)
    assert settings.optimizer["config"]["learning_rate"] == 0.01
    assert settings.loss == "mean_squared_error"


def test_create_rejects_an_unknown_override_and_lists_valid_keys(registry):
    with pytest.raises(InvalidParameterError) as caught:
        registry.create("presets", "adam-mse", learnin_rate=0.01)
    message = str(caught.value)
    assert "no hyperparameter 'learnin_rate'" in message
    assert "Did you mean: learning_rate?" in message
    assert "learning_rate: float = 0.001" in message


def test_each_call_builds_an_independent_registry():
    first = Registry.discover(entry_points=False, extra=[("shadow", Shadow())])
    second = Registry.discover(entry_points=False)
    assert "wide" in first.names("models")
    assert "wide" not in second.names("models")


def test_disabled_plugins_are_listed_but_contribute_nothing():
    registry = Registry.discover(entry_points=False, disabled=["zoo.linear"])
    assert "linear" not in registry.names("models") and "mlp" in registry.names("models")
    assert registry.plugins["zoo.linear"].status == "disabled"


def test_disable_via_environment(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo.mlp, zoo.linear")
    names = Registry.discover(entry_points=False).names("models")
    assert "mlp" not in names and "linear" not in names


class ClaimsBadly:
    """Registers a model, then its policy hook raises when it is asked."""

    @hookimpl
    def register_models(self, register):
        def build_claimed(spec):
            raise NotImplementedError

        register("claimed", build_claimed, description="goes when the policy hook fails")

    @hookimpl
    def zoo_data_for_name(self, name):
        raise RuntimeError("the claim hook's own bug")


def test_a_policy_hook_that_raises_skips_its_whole_plugin():
    from zoo.catalog.registry import PluginWarning

    registry = Registry.discover(entry_points=False, extra=[("claims", ClaimsBadly())])
    assert "claimed" in registry.names("models")
    with pytest.warns(PluginWarning, match="plugin 'claims' was skipped: zoo_data_for_name"):
        assert registry.claim_data("table.parquet") is None
    assert "claimed" not in registry.names("models")
    assert "the claim hook's own bug" in registry.plugins["claims"].traceback


def test_a_pin_from_python_resolves_a_shared_name():
    registry = Registry.discover(
        entry_points=False, extra=[("shadow", Shadow())], prefer={"housing": "shadow"}, warn=False
    )
    assert registry.get("housing").plugin == "shadow"
    assert registry.display_name(registry.get("zoo.housing:housing")) == "zoo.housing:housing"
