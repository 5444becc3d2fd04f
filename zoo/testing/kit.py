"""Which checks a plugin gets, running them all, and the pytest helper.

``plugin_checks("example")`` lists every check of the plugin's contributions, each with an id
such as ``example:tiny:builds[regression-tabular]``. :func:`check_plugin` runs them and
reports every failure; :func:`parametrize_plugin_checks` makes one pytest test per check.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.catalog.manager import BUILTIN_PLUGINS, plugin_entry_points
from zoo.core.errors import UnknownNameError, did_you_mean
from zoo.testing import checks

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
            f"No plugin named {plugin!r} is installed.{did_you_mean(plugin, registry.plugins)} "
            "'zoo plugins' lists the names (the entry point's name in pyproject.toml)."
        )
    options = Options(params or {}, {**checks.INPUT_SHAPES, **(input_shapes or {})})
    found = [Check(f"{plugin}:loads", lambda: checks.check_loads(record))]
    module = _module_of(plugin, record.origin)
    if module:
        found.append(
            Check(f"{plugin}:imports-light", lambda: checks.check_imports_light(plugin, module))
        )
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
        if given is None and checks.needs_params(entry):
            skip = f"{prefix} needs parameters (a file): pass params={{{entry.name!r}: {{...}}}}"
        values = checks.data_params(entry, given)
        yield Check(f"{prefix}:loads", lambda: checks.check_data_loads(entry, values), skip)
    elif entry.kind == "models":
        yield from _model_checks(entry, prefix, dict(given or {}), options)
    else:
        values = dict(given or {})
        for task in entry.metadata["tasks"]:
            yield Check(
                f"{prefix}:resolves[{task}]",
                lambda t=task: checks.check_preset_resolves(entry, t, values),
            )


def _model_checks(entry: Entry, prefix: str, params: dict, options: Options) -> Iterator[Check]:
    """Builds for every task and input kind it declares; trains and reloads once per task."""
    kinds = entry.metadata["input_kinds"]
    for task in entry.metadata["tasks"]:
        for kind in kinds:
            spec = checks.model_spec(task, options.input_shapes[kind], kind)
            yield Check(
                f"{prefix}:builds[{task}-{kind}]",
                lambda s=spec: checks.check_model_builds(entry, s, params),
            )
        spec = checks.model_spec(task, options.input_shapes[kinds[0]], kinds[0])
        yield Check(
            f"{prefix}:trains[{task}]", lambda s=spec: checks.check_model_trains(entry, s, params)
        )
    spec = checks.model_spec(entry.metadata["tasks"][0], options.input_shapes[kinds[0]], kinds[0])
    yield Check(f"{prefix}:reloads", lambda: checks.check_model_reloads(entry, spec, params))


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
        lines = [f"plugin {self.plugin!r}: {len(self.passed)} checks passed"]
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
        raise_on_failure: raise :class:`~zoo.testing.checks.PluginCheckError` listing every
            failure instead of returning a report that has some.
        **options: ``registry``, ``params``, ``input_shapes`` (see :func:`plugin_checks`).

    Raises:
        PluginCheckError: a check failed (with ``raise_on_failure``).
    """
    report = Report(plugin)
    for check in plugin_checks(plugin, **options):
        _run_one(check, expected_reason(check.id, expected_failures or {}), report)
    if raise_on_failure and not report.ok:
        raise checks.PluginCheckError(str(report))
    return report


def _run_one(check: Check, expected: str, report: Report) -> None:
    if check.skip:
        report.skipped[check.id] = check.skip
        return
    try:
        check.run()
    except checks.PluginCheckError as failure:
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
