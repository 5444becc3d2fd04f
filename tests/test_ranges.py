"""Declared hyperparameter ranges: parsed, checked at registration and while planning."""

from __future__ import annotations

import pytest

import zoo
from zoo import InvalidParameterError, Registry, hookimpl
from zoo.catalog.entries import check_ranges, is_ranges, parse_interval


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("[0, 1)", [0, 0.5, 0.999], [1, -0.1]),
        ("(0, inf)", [1e-9, 1e9], [0, -1]),
        ("[1, 3]", [1, 3], [0, 4]),
        ("(-inf, 0]", [-1e9, 0], [0.1]),
    ],
)
def test_intervals_include_and_exclude_their_bounds(text, inside, outside):
    interval = parse_interval(text)
    assert all(interval.contains(v) for v in inside)
    assert not any(interval.contains(v) for v in outside)


@pytest.mark.parametrize("bad", ["0, 1", "[1, 0]", "[a, 1)", "[0; 1)", 5, "[nan, 1]"])
def test_malformed_intervals_are_refused(bad):
    with pytest.raises(ValueError):
        parse_interval(bad)
    assert not is_ranges({"x": bad})


def test_a_value_outside_or_of_the_wrong_type_is_one_line_naming_the_owner():
    ranges = {"dropout": "[0, 1)", "hidden": "[1, inf)"}
    check_ranges("model 'm'", ranges, {"dropout": 0.2, "hidden": (8, 4)})
    with pytest.raises(
        InvalidParameterError, match=r"model 'm': hyperparameter hidden: .*\(8, 0\)"
    ):
        check_ranges("model 'm'", ranges, {"hidden": (8, 0)})
    with pytest.raises(InvalidParameterError, match="expected numbers in"):
        check_ranges("model 'm'", ranges, {"dropout": "half"})


class Ranged:
    def __init__(self, ranges, search_space=None):
        self.metadata = {"ranges": ranges, "search_space": search_space}

    @hookimpl
    def register_models(self, register):
        def build(spec, dropout: float = 0.1, units: int = 8):
            raise NotImplementedError

        register("ranged", build, description="d", **self.metadata)


@pytest.mark.parametrize(
    ("ranges", "space", "fragment"),
    [
        ({"dropout": "0..1"}, None, "ranges must be a dict of hyperparameter name"),
        ({"droput": "[0, 1)"}, None, "ranges names 'droput', which is not a hyperparameter"),
        ({"units": "[10, inf)"}, None, "the default of units is outside its range"),
        ({"dropout": "[0, 0.5]"}, {"dropout": {"low": 0, "high": 0.9}}, "reaches outside"),
    ],
)
def test_bad_ranges_fail_the_plugin_at_registration(ranges, space, fragment):
    plugin = Ranged(ranges, space)
    registry = Registry.discover(builtins=False, entry_points=False, extra=[("r", plugin)])
    assert registry.plugins["r"].status == "failed"
    assert fragment in registry.plugins["r"].error


@pytest.mark.parametrize(
    ("sets", "fragment"),
    [
        (["dropout=1.0"], "model 'mlp' of plugin 'zoo.mlp': hyperparameter dropout"),
        (["hidden=16,0"], "hyperparameter hidden: expected a value in [1, inf)"),
        (["learning_rate=-0.1"], "preset 'adam-mse' of plugin 'zoo.presets'"),
    ],
)
def test_out_of_range_overrides_are_refused_while_planning(sets, fragment):
    registry = Registry.discover(entry_points=False, warn=False)
    config = zoo.RunConfig(model="mlp", data="housing")
    with pytest.raises(InvalidParameterError) as error:
        zoo.plan(config, registry, sets)
    assert fragment in str(error.value)


def test_create_checks_ranges_and_info_shows_them(zoo_cli):
    registry = Registry.discover(entry_points=False, warn=False)
    spec = zoo.ModelSpec((4,), "regression", 1, "linear")
    with pytest.raises(InvalidParameterError, match="hyperparameter dropout"):
        registry.create("models", "mlp", spec, dropout=1.0)
    dropout = next(p for p in registry.get("mlp").to_dict()["params"] if p["name"] == "dropout")
    assert dropout["range"] == "[0, 1)"
    code, out, _ = zoo_cli("info", "mlp")
    assert code == 0 and "float in [0, 1)" in out
