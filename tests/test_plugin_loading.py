"""Plugin loading users can understand and control, tested through installed distributions.

zoo-plugin-mistakes makes one registration mistake per entry point; each must be reported in
one line naming the plugin, while every other plugin and command keeps working.
"""

from __future__ import annotations

import json
import warnings

import pytest

from zoo import Registry
from zoo.catalog.registry import PluginWarning, read_preferences

REASONS = {
    "half-registered": "register_models raised RuntimeError: the model hook's own bug",
    "future-api": "written for plugin API 99 (ZOO_PLUGIN_API), but keras-zoo",
    "missing-keys": "missing required keyword(s) task, input_kind, shape",
    "no-default": "hyperparameter(s) units of the builder have no default",
    "bad-metadata": "unknown keyword(s) colour; accepted: description, task, input_kind, shape, "
    "rows, classes, source, licence, caveat, inspect, ranges, columns, notes; rows must be a "
    "positive int or "
    "None, received 'many'",
    "bad-ranges": "dropout is outside its range: expected a value in [0, 1), received 1.5; "
    "ranges names 'widht', which is not a hyperparameter",
}


@pytest.fixture
def mistakes(with_mistakes) -> Registry:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        return Registry.discover()


@pytest.mark.parametrize(("plugin", "reason"), REASONS.items())
def test_each_mistake_skips_its_plugin_with_one_line_naming_it(mistakes, plugin, reason):
    record = mistakes.plugins[plugin]
    assert record.status == "failed" and record.contributes == {}
    assert reason in record.error and "\n" not in record.error


def test_a_plugin_failing_in_a_later_hook_keeps_nothing_from_earlier_hooks(mistakes):
    assert "half-data" not in mistakes.names("datasets")
    assert "Traceback" in mistakes.plugins["half-registered"].traceback
    assert "the model hook's own bug" in mistakes.plugins["half-registered"].traceback


def test_a_hook_returning_a_value_is_warned_about(mistakes):
    record = mistakes.plugins["returns-value"]
    assert record.status == "ok" and record.contributes == {}
    assert "returned list instead of calling register(...)" in record.notes[0]
    assert "registered nothing" in record.notes[0]


def test_discover_raises_a_python_warning_per_problem(with_mistakes):
    with pytest.warns(PluginWarning) as caught:
        Registry.discover()
    text = "\n".join(str(w.message) for w in caught)
    for plugin in [*REASONS, "returns-value"]:
        assert f"plugin {plugin!r}" in text
    assert len(caught) == len(REASONS) + 1


def test_every_other_command_keeps_working(with_mistakes, zoo_cli):
    code, out, err = zoo_cli("list", "models")
    assert code == 0 and "mlp" in out
    lines = err.splitlines()
    assert len(lines) == len(REASONS) + 1 and all(
        line.startswith("zoo: warning:") for line in lines
    )
    code, out, _ = zoo_cli("run", "--model", "mlp", "--data", "housing", "--dry-run")
    assert code == 0


def test_debug_shows_each_failed_plugin_s_traceback(with_mistakes, zoo_cli, monkeypatch):
    monkeypatch.setenv("ZOO_DEBUG", "1")
    code, _, err = zoo_cli("list", "models")
    assert code == 0
    assert "zoo: plugin 'half-registered' failed:" in err and "Traceback" in err
    assert "RuntimeError: the model hook's own bug" in err


def test_plugins_json_carries_traceback_notes_and_import_time(with_mistakes, zoo_cli):
    code, out, _ = zoo_cli("plugins", "--json")
    records = {r["name"]: r for r in json.loads(out)}
    assert "RuntimeError" in records["half-registered"]["traceback"]
    assert records["returns-value"]["notes"]
    assert all(r["import_s"] >= 0 for r in records.values())


def test_a_misspelt_disabled_plugin_is_reported(monkeypatch, zoo_cli):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo.mpl, zoo.cnn")
    registry = Registry.discover(warn=False)
    assert registry.plugins["zoo.cnn"].status == "disabled"
    assert len(registry.notes) == 1 and "'zoo.mpl'" in registry.notes[0]
    assert "Did you mean: zoo.mlp" in registry.notes[0]
    code, _, err = zoo_cli("plugins")
    assert code == 0 and "ZOO_DISABLE_PLUGINS names 'zoo.mpl'" in err


def test_duplicates_are_named_up_front_and_a_pin_settles_them(with_broken_plugins, monkeypatch):
    registry = Registry.discover(warn=False)
    assert list(registry.duplicates) == ["mlp"]
    assert any("ZOO_PREFER=mlp=shadow" in note for note in registry.plugins["shadow"].notes)
    monkeypatch.setenv("ZOO_PREFER", "mlp=zoo.mlp")
    pinned = Registry.discover(warn=False)
    assert pinned.get("mlp").plugin == "zoo.mlp"
    assert {"mlp", "shadow:mlp"} <= set(pinned.names("models"))
    assert not any("mlp" in note for note in pinned.plugins["shadow"].notes)


def test_the_run_a_duplicate_breaks_says_how_to_pin(with_broken_plugins, zoo_cli, monkeypatch):
    code, _, err = zoo_cli("run", "--model", "mlp", "--data", "housing", "--dry-run")
    assert code != 0 and "ZOO_PREFER=mlp=" in err
    monkeypatch.setenv("ZOO_PREFER", "mlp=zoo.mlp")
    code, out, _ = zoo_cli("run", "--model", "mlp", "--data", "housing", "--dry-run")
    assert code == 0 and "zoo.mlp:mlp" in out + _


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("mlp", "is not NAME=PLUGIN"), ("mlp=nobody", "pins 'mlp' to plugin 'nobody'")],
)
def test_a_bad_pin_is_reported(text, fragment, monkeypatch):
    monkeypatch.setenv("ZOO_PREFER", text)
    notes = Registry.discover(warn=False).notes
    assert len(notes) == 1 and fragment in notes[0]


def test_pins_parse_with_spaces():
    assert read_preferences(" mlp = zoo.mlp ,housing=x") == (
        {"mlp": "zoo.mlp", "housing": "x"},
        [],
    )


def test_zoo_list_names_the_plugin_that_imports_keras(with_heavy_plugin, zoo_cli):
    code, out, err = zoo_cli("list", "models")
    assert code == 0 and "heavy" in out
    line = next(x for x in err.splitlines() if "'heavy'" in x)
    assert "imports keras" in line and "s of every command" in line


def test_the_import_cost_is_recorded(with_heavy_plugin):
    record = Registry.discover(warn=False).plugins["heavy"]
    assert record.status == "ok" and "keras" in record.heavy_imports
    assert record.import_s >= 0 and "imports keras" in record.notes[0]
