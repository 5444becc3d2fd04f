"""The conformance kit itself: failures named, expected failures, skips, the pytest helper."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import Dataset, Registry, UnknownNameError, hookimpl
from zoo.testing import PluginCheckError, check_plugin, parametrize_plugin_checks, plugin_checks


def test_a_broken_data_set_fails_its_check_naming_the_plugin(with_breakers):
    with pytest.raises(PluginCheckError) as failure:
        check_plugin("wrong-shape")
    text = str(failure.value)
    assert "FAILED wrong-shape:six-features:loads: data set 'six-features' of plugin" in text
    assert "shape of one example (6,), but the registration declares (4,)" in text


@pytest.mark.parametrize(
    ("plugin", "check_id", "fragment"),
    [
        ("wrong-output", "wrong-output:five-outputs:builds[binary-tabular]", "expected shape (2,"),
        ("not-a-model", "not-a-model:dict-model:builds[regression-tabular]", "received dict"),
        ("unknown-loss", "unknown-loss:msee:resolves[regression]", "Keras does not know"),
        ("half-registered", "half-registered:loads", "the model hook's own bug"),
    ],
)
def test_each_kind_of_broken_contribution_fails_its_named_check(
    plugin, check_id, fragment, with_breakers, with_mistakes
):
    report = check_plugin(plugin, raise_on_failure=False)
    assert not report.ok and fragment in report.failed[check_id]
    assert repr(plugin) in report.failed[check_id]


def test_expected_failures_are_reported_with_their_reason_and_may_use_wildcards(with_breakers):
    report = check_plugin("wrong-output", expected_failures={"*:five-outputs:*": "a known bug"})
    assert report.ok and len(report.expected) == 7  # builds x3, trains x3, reloads
    assert all(reason.startswith("a known bug (") for reason in report.expected.values())


def test_an_expected_failure_that_passes_is_a_failure():
    registry = Registry.discover(entry_points=False, warn=False)
    report = check_plugin(
        "zoo.synthetic",
        registry=registry,
        expected_failures={"zoo.synthetic:regression:loads": "thought broken"},
        raise_on_failure=False,
    )
    assert (
        "declared an expected failure: thought broken"
        in (report.failed["zoo.synthetic:regression:loads"])
    )


def test_a_data_set_that_needs_a_file_is_skipped_with_how_to_give_one():
    registry = Registry.discover(entry_points=False, warn=False)
    report = check_plugin("zoo.csv_files", registry=registry)
    assert "pass params={'csv': {...}}" in report.skipped["zoo.csv_files:csv:loads"]


def test_an_unknown_plugin_name_suggests_the_close_ones():
    with pytest.raises(UnknownNameError, match="Did you mean: zoo.mlp"):
        plugin_checks("zoo.mpl", registry=Registry.discover(entry_points=False, warn=False))


def test_the_pytest_helper_makes_one_param_per_check_with_strict_xfails(with_breakers):
    mark = parametrize_plugin_checks("wrong-rows", expected_failures={"*:loads": "known"})
    params = mark.args[1]
    ids = [p.id for p in params]
    assert ids[:2] == ["wrong-rows:loads", "wrong-rows:imports-light"]
    xfail = {p.id: p.marks[0].kwargs for p in params if p.marks}
    assert xfail == {
        "wrong-rows:loads": {"reason": "known", "strict": True},
        "wrong-rows:ten-rows:loads": {"reason": "known", "strict": True},
    }


@pytest.mark.slow
def test_a_plugin_importing_keras_fails_the_light_import_check(with_heavy_plugin):
    report = check_plugin("heavy", raise_on_failure=False)
    assert (
        "expected no keras/tensorflow/torch/jax import, received"
        in (report.failed["heavy:imports-light"])
    )


class _Flawed:
    """A data set whose shape is wrong at any size and a model that fails as it trains."""

    @hookimpl
    def register_datasets(self, register):
        def six_features(rows: int = 1000):
            x = np.random.default_rng(0).random((rows, 6)).astype("float32")
            return Dataset(x, np.linspace(0, 1, rows).astype("float32"), "regression")

        register(
            "six-at-any-size",
            six_features,
            description="six features, declared four",
            task="regression",
            input_kind="tabular",
            shape=(4,),
            rows=1000,
        )

    @hookimpl
    def register_models(self, register):
        register("fails-training", _fails_training, description="fails", tasks=("regression",))


def _fails_training(spec):
    import keras

    class Boom(keras.layers.Layer):
        def call(self, x, training=None):
            if training:
                raise ValueError("boom while training")
            return x

    return keras.Sequential([keras.Input(spec.input_shape), Boom(), keras.layers.Dense(1)])


@pytest.fixture(scope="module")
def flawed_report():
    registry = Registry.discover(entry_points=False, warn=False, extra=[("flawed", _Flawed())])
    return check_plugin("flawed", registry=registry, raise_on_failure=False)


def test_a_wrong_shape_is_found_with_the_kits_smaller_rows(flawed_report):
    why = flawed_report.failed["flawed:six-at-any-size:loads"]
    assert "loaded with {'rows': 64}" in why and "example (6,), but the registration" in why


def test_a_model_failing_in_training_is_a_reported_failure_not_a_crash(flawed_report):
    why = flawed_report.failed["flawed:fails-training:trains[regression]"]
    assert "one training step" in why and "raised ValueError" in why and "\x1b" not in why
    assert "flawed:fails-training:builds[regression-tabular]" in flawed_report.passed
