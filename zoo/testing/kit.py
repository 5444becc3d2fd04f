"""The conformance kit: the checks, one small function per property of a plugin's
contribution; which checks a plugin gets, running them all, and the pytest helper.

Each check takes the entry under test (and what it needs) and raises
:class:`PluginCheckError` with one line naming the plugin, the entry, what was expected and
what was received; it returns None when the contribution conforms. The checks reuse the
runner's own contract (``zoo.catalog.contract``), so what passes here passes in ``zoo run``.

``plugin_checks("example")`` lists every check of the plugin's contributions, each with an id
such as ``example:tiny:builds[regression-tabular]``. :func:`check_plugin` runs them and
reports every failure; :func:`parametrize_plugin_checks` makes one pytest test per check.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.catalog import contract
from zoo.catalog.entries import INFERRED, Entry
from zoo.catalog.keras_names import check_settings_names
from zoo.catalog.manager import BUILTIN_PLUGINS, HEAVY_MODULES, plugin_entry_points
from zoo.core.errors import UnknownNameError, ZooError, did_you_mean, plain, shown
from zoo.core.parts import SplitSpec
from zoo.core.spec import CompileSettings, ModelSpec, output_for_task
from zoo.core.tasks import IMAGE, TASK_TABLE
from zoo.plan.data_choice import inspected

if TYPE_CHECKING:
    from zoo.catalog.entries import Entry
    from zoo.catalog.registry import Registry


@dataclass(frozen=True)
class Check:
    """One named check of one plugin: call it to run it."""

    id: str
    run: Callable[[], None] = field(repr=False, compare=False)
    skip: str = ""  # why the check cannot run (a data set that needs a file), or ''

    def __call__(self) -> None:
        if self.skip:
            import pytest

            pytest.skip(self.skip)
        self.run()


@dataclass(frozen=True)
class Options:
    """What an author may tell the kit.

    Args:
        params: entry name -> parameters to call its factory with (a data set's file, a
            model's smaller size); other entries get their defaults (a small ``rows``).
        input_shapes: input kind -> the example shape models are built for.
    """

    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    input_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def plugin_checks(
    plugin: str,
    *,
    registry: Registry | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> list[Check]:
    """Every check of ``plugin``: the plugin itself, then each entry it registered.

    Raises:
        UnknownNameError: no plugin of that name is installed.
    """
    from zoo.catalog.registry import Registry

    registry = registry or Registry.discover(warn=False)
    record = registry.plugins.get(plugin)
    if record is None:
        raise UnknownNameError(
            f"No plugin named {shown(plugin)} is "
            f"installed.{did_you_mean(plugin, registry.plugins)} "
            "'zoo plugins' lists the names (the entry point's name in pyproject.toml)."
        )
    options = Options(params or {}, {**INPUT_SHAPES, **(input_shapes or {})})
    found = [Check(f"{plugin}:loads", lambda: check_loads(record))]
    module = _module_of(plugin, record.origin)
    if module:
        found.append(Check(f"{plugin}:imports-light", lambda: check_imports_light(plugin, module)))
    for entry in registry.list():
        if entry.plugin == plugin:
            found += list(_entry_checks(entry, options))
    return found


def _module_of(plugin: str, origin: str) -> str:
    if origin == "built-in":
        return BUILTIN_PLUGINS.get(plugin, "")
    for ep in plugin_entry_points():
        if ep.name == plugin:
            return ep.value.partition(":")[0]
    return ""  # registered in process: there is no module to import afresh


def _entry_checks(entry: Entry, options: Options) -> Iterator[Check]:
    prefix = f"{entry.plugin}:{entry.name}"
    given = options.params.get(entry.name)
    if entry.kind == "datasets":
        skip = ""
        if given is None and needs_params(entry):
            skip = (
                f"{prefix} needs parameters (a file): pass params={{{shown(entry.name)}: {{...}}}}"
            )
        values = data_params(entry, given)
        yield Check(f"{prefix}:loads", lambda: check_data_loads(entry, values), skip)
    elif entry.kind == "models":
        yield from _model_checks(entry, prefix, dict(given or {}), options)
    else:
        values = dict(given or {})
        for task in entry.metadata["tasks"]:
            yield Check(
                f"{prefix}:resolves[{task}]",
                lambda t=task: check_preset_resolves(entry, t, values),
            )


def _model_checks(entry: Entry, prefix: str, params: dict, options: Options) -> Iterator[Check]:
    """Builds for every task and input kind it declares; trains and reloads once per task."""
    kinds = entry.metadata["input_kinds"]
    for task in entry.metadata["tasks"]:
        for kind in kinds:
            spec = model_spec(task, options.input_shapes[kind], kind)
            yield Check(
                f"{prefix}:builds[{task}-{kind}]",
                lambda s=spec: check_model_builds(entry, s, params),
            )
        spec = model_spec(task, options.input_shapes[kinds[0]], kinds[0])
        yield Check(f"{prefix}:trains[{task}]", lambda s=spec: check_model_trains(entry, s, params))
    spec = model_spec(entry.metadata["tasks"][0], options.input_shapes[kinds[0]], kinds[0])
    yield Check(f"{prefix}:reloads", lambda: check_model_reloads(entry, spec, params))


@dataclass
class Report:
    """What :func:`check_plugin` found: check id -> its failure, expected one or skip reason."""

    plugin: str
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        lines = [f"plugin {shown(self.plugin)}: {len(self.passed)} checks passed"]
        lines += [f"FAILED {check}: {why}" for check, why in self.failed.items()]
        lines += [f"expected failure {check}: {why}" for check, why in self.expected.items()]
        lines += [f"skipped {check}: {why}" for check, why in self.skipped.items()]
        return "\n".join(lines)


def expected_reason(check_id: str, expected: Mapping[str, str]) -> str:
    """The reason an expected failure was declared for ``check_id`` (ids or wildcards).

    Only ``*`` and ``?`` are wildcards: brackets are literal, as in ``trains[binary]``.
    """
    for pattern, reason in expected.items():
        if fnmatch.fnmatchcase(check_id, pattern.replace("[", "[[]")):
            return reason or "expected to fail"
    return ""


def check_plugin(
    plugin: str,
    *,
    expected_failures: Mapping[str, str] | None = None,
    raise_on_failure: bool = True,
    **options: Any,
) -> Report:
    """Run every check of ``plugin`` and report each failure with the plugin's name.

    Args:
        plugin: the plugin's name (its entry point's name), as ``zoo plugins`` shows it.
        expected_failures: check id (or wildcard) -> why it is known to fail. Such a check
            that passes is a failure too, so the declaration cannot go stale.
        raise_on_failure: raise :class:`~zoo.testing.PluginCheckError` listing every
            failure instead of returning a report that has some.
        **options: ``registry``, ``params``, ``input_shapes`` (see :func:`plugin_checks`).

    Raises:
        PluginCheckError: a check failed (with ``raise_on_failure``).
    """
    report = Report(plugin)
    for check in plugin_checks(plugin, **options):
        _run_one(check, expected_reason(check.id, expected_failures or {}), report)
    if raise_on_failure and not report.ok:
        raise PluginCheckError(str(report))
    return report


def _run_one(check: Check, expected: str, report: Report) -> None:
    if check.skip:
        report.skipped[check.id] = check.skip
        return
    try:
        check.run()
    except Exception as error:  # noqa: BLE001 - a plugin's crash is a failed check, reported
        failure = error if isinstance(error, PluginCheckError) else _crashed(check, error)
        if expected:
            report.expected[check.id] = f"{expected} ({failure})"
        else:
            report.failed[check.id] = str(failure)
        return
    if expected:
        report.failed[check.id] = f"passed, but was declared an expected failure: {expected}"
    else:
        report.passed.append(check.id)


def parametrize_plugin_checks(
    plugin: str, *, expected_failures: Mapping[str, str] | None = None, **options: Any
) -> Callable[[Callable[..., Any]], Any]:
    """A pytest decorator: one test per check of ``plugin``, given as the ``check`` argument.

    An author's whole test file::

        from zoo.testing import parametrize_plugin_checks

        @parametrize_plugin_checks("my-plugin")
        def test_my_plugin(check):
            check()

    Expected failures become strict xfails: they must fail, with the reason shown.
    """
    import pytest

    params = []
    for check in plugin_checks(plugin, **options):
        reason = expected_reason(check.id, expected_failures or {})
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(check, id=check.id, marks=marks))
    return pytest.mark.parametrize("check", params)


# Example shapes a model is built for, per input kind; a kit user may give others.
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"tabular": (4,), "image": (8, 8, 1)}
TINY_ROWS = 64  # what a loader with a ``rows`` parameter is asked for
PROBE_CLASSES = 3


class PluginCheckError(AssertionError):
    """A plugin's contribution does not conform; the message names plugin and entry."""


def _failed(error: Exception) -> PluginCheckError:
    return PluginCheckError(plain(str(error)))


def _crashed(check: Check, error: Exception) -> PluginCheckError:
    """A check that raised something other than its own failure: the plugin crashed in it."""
    return PluginCheckError(f"{check.id}: {_exception_line(error)}")


def _exception_line(error: BaseException) -> str:
    """``Type: first line`` of an exception, without the escape codes Keras adds."""
    lines = [line.strip() for line in plain(str(error)).splitlines() if line.strip()]
    return f"raised {type(error).__name__}: {lines[0][:300] if lines else ''}".rstrip(": ")


# -- the plugin as a whole ----------------------------------------------------------------


def check_loads(record: Any) -> None:
    """The plugin loaded, registered without a problem and left no warning behind."""
    if record.status != "ok":
        raise PluginCheckError(f"plugin {shown(record.name)} {record.status}: {record.error}")
    if record.notes:
        raise PluginCheckError(f"plugin {shown(record.name)} {record.notes[0]}")


def check_imports_light(plugin: str, module: str) -> None:
    """Importing the plugin's module in a fresh interpreter imports no heavy framework."""
    probe = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "print(' '.join(sorted({n.partition('.')[0] for n in sys.modules})))"
    )
    # The fresh interpreter sees the packages this one sees (a test's added site folder too).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-c", probe, module], capture_output=True, text=True, timeout=120, env=env
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise PluginCheckError(f"plugin {shown(plugin)}: importing {module} failed: {last}")
    heavy = sorted(set(done.stdout.split()) & set(HEAVY_MODULES))
    if heavy:
        raise PluginCheckError(
            f"plugin {shown(plugin)}: importing {module}: expected no {'/'.join(HEAVY_MODULES)} "
            f"import, received {', '.join(heavy)}; import them inside the registered functions"
        )


# -- data sets -----------------------------------------------------------------------------


def data_params(entry: Entry, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The kit's parameters for a loader: the author's, else a small ``rows`` where it has one."""
    if given is not None:
        return dict(given)
    params = {p.name: p.default for p in entry.params}
    rows = params.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and rows > TINY_ROWS:
        return {"rows": TINY_ROWS}
    return {}


def needs_params(entry: Entry) -> bool:
    """A data set that cannot load without the author's parameters (a file's path)."""
    return INFERRED in (entry.metadata.get("task"), entry.metadata.get("shape"))


def check_data_loads(entry: Entry, params: Mapping[str, Any]) -> None:
    """The loader's data set matches its registration: type, task, kind, shape, rows,
    classes, numeric and finite features, targets in range; and it splits."""
    try:
        described = inspected(entry, dict(params))
        source = contract.call_plugin(described, **params)
        contract.check_data(described, source, params)
        _check_example_shape(described, source, params)
        parts = source.split(SplitSpec(test_size=0.25, validation_size=0.2, seed=0))
    except ZooError as error:
        raise _failed(error) from error
    for part in ("train", "test"):
        if parts.rows(part) < 1:
            raise PluginCheckError(f"{entry.owner}: the {part} part: expected rows, received none")


def _check_example_shape(entry: Entry, source: Any, params: Mapping[str, Any]) -> None:
    """Loaded with the kit's smaller ``rows`` only, the examples still have the declared shape.

    The contract compares shapes only for parameters the registration describes (the
    defaults, without an ``inspect``); ``zoo run`` loads with the defaults and would refuse
    a shape this load did not compare.
    """
    meta = entry.metadata
    if meta.get("inspect") is not None or meta["shape"] == INFERRED or set(params) - {"rows"}:
        return
    declared, found = tuple(meta["shape"]), tuple(source.info.input_shape)
    if params and declared != found:
        raise PluginCheckError(
            f"{entry.owner}: loaded with {dict(params)}: the loader returned shape of one "
            f"example {found}, but the registration declares {declared}; make them agree "
            "(zoo run loads it with its defaults and refuses that)"
        )


# -- models --------------------------------------------------------------------------------


def model_spec(task: str, input_shape: tuple[int, ...], input_kind: str) -> ModelSpec:
    """The ModelSpec a run would give for a data set of this task and shape."""
    units, activation = output_for_task(task, PROBE_CLASSES)
    return ModelSpec(tuple(input_shape), task, units, activation, input_kind)


def build(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> Any:
    """The builder's model for ``spec``, checked as the runner checks it."""
    try:
        built = contract.call_plugin(entry, spec, **params)
        model, _ = contract.check_model(entry, spec, built)
    except ZooError as error:
        raise _failed(error) from error
    return model


def check_model_builds(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """The model builds for the spec, accepts its input shape and has the right output."""
    build(entry, spec, params)


def tiny_batch(spec: ModelSpec, rows: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs of the spec's shape and targets fitting its task."""
    rng = np.random.default_rng(0)
    x = rng.random((rows, *spec.input_shape), dtype="float32")
    if spec.input_kind == IMAGE:
        x *= 255.0
    if TASK_TABLE[spec.task].classification:
        classes = spec.output_units if spec.output_units > 1 else 2
        y = (np.arange(rows) % classes).astype("int32")
    else:
        y = rng.standard_normal(rows).astype("float32")
    return x, y


def check_model_trains(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """One optimizer step with the task's default loss gives a finite loss."""
    model = build(entry, spec, params)
    settings = CompileSettings(optimizer="sgd").resolve(spec.task)
    model.compile(**settings, run_eagerly=True)  # one step: tracing would cost more
    x, y = tiny_batch(spec)
    try:
        loss = model.train_on_batch(x, y, return_dict=True)["loss"]
    except Exception as exc:
        raise PluginCheckError(
            f"{entry.owner}: one training step: expected a loss, but the model "
            f"{_exception_line(exc)}"
        ) from exc
    if not np.isfinite(float(loss)):
        raise PluginCheckError(
            f"{entry.owner}: one training step: expected a finite loss, received {float(loss)}"
        )


def check_model_reloads(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """The model saves to a .keras file and loads back in safe mode with the same outputs."""
    import keras

    model = build(entry, spec, params)
    x, _ = tiny_batch(spec, rows=2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(path)
            loaded = keras.saving.load_model(path, safe_mode=True)
        except Exception as exc:
            text = (plain(str(exc)).strip().splitlines() or [""])[0]
            raise PluginCheckError(
                f"{entry.owner}: save and reload in safe mode: expected the model "
                f"back, received {type(exc).__name__}: {text} (custom layers need "
                "keras.saving.register_keras_serializable and no lambdas)"
            ) from exc
    before, after = np.asarray(model(x)), np.asarray(loaded(x))
    if not np.allclose(before, after, atol=1e-5):
        raise PluginCheckError(
            f"{entry.owner}: save and reload: expected the same outputs, received "
            f"a largest difference of {float(np.max(np.abs(before - after))):.3g}"
        )


# -- presets -------------------------------------------------------------------------------


def check_preset_resolves(entry: Entry, task: str, params: Mapping[str, Any]) -> None:
    """The factory returns CompileSettings whose optimizer, loss and metrics Keras builds,
    and whose loss suits ``task``."""
    try:
        settings = contract.call_plugin(entry, **params)
        if not isinstance(settings, CompileSettings):
            raise contract.mismatch(
                entry, "the factory's result", "CompileSettings", type(settings).__name__
            )
        filled = settings.for_task(task, f"a {task} data set")
        check_settings_names(entry, filled)
        contract.check_settings(entry, filled)
    except ZooError as error:
        raise _failed(error) from error
