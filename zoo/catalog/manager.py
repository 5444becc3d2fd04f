"""The plugin manager factory: built-in plugins plus entry points, each loaded in isolation.

Nothing here is global: every call to :func:`load_plugins` builds a fresh manager. A plugin
that fails to import, implements a hook that does not exist, or has a hook whose signature
does not match the spec is recorded as failed and left out; the others load normally.
Loading also measures each plugin's import time and notices one that imports TensorFlow,
Keras or another heavy framework at import time, since that slows every ``zoo list``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import pluggy

from zoo._version import __version__
from zoo.catalog import hookspecs
from zoo.catalog.entries import KINDS, Entry, make_entry
from zoo.core.errors import PluginError, did_you_mean, shown

ENTRY_POINT_GROUP = "zoo"
# Plugin name -> module. Built-ins go through the same hooks as third-party plugins.
BUILTIN_PLUGINS = {
    "zoo.housing": "zoo.plugins.housing",
    "zoo.linear": "zoo.plugins.linear",
    "zoo.mlp": "zoo.plugins.mlp",
    "zoo.tabular_nets": "zoo.plugins.tabular_nets",
    "zoo.cnn": "zoo.plugins.cnn",
    "zoo.transfer": "zoo.plugins.transfer",
    "zoo.presets": "zoo.plugins.presets",
    "zoo.sklearn_datasets": "zoo.plugins.sklearn_datasets",
    "zoo.synthetic": "zoo.plugins.synthetic",
    "zoo.csv_files": "zoo.plugins.csv_files",
}
HOOK_NAMES = tuple(name for name in vars(hookspecs) if name.startswith(("register_", "zoo_")))
DISABLE_ENV = "ZOO_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "ZOO_DISABLE_PLUGIN_AUTOLOAD"
# Frameworks whose import costs seconds: a plugin must import them inside its functions.
HEAVY_MODULES = ("keras", "tensorflow", "torch", "jax")
# The plugin API versions this keras-zoo serves; a plugin declares its own as ZOO_PLUGIN_API.
SUPPORTED_PLUGIN_APIS = (hookspecs.PLUGIN_API_VERSION,)
API_ATTRIBUTE = "ZOO_PLUGIN_API"


@dataclass
class PluginRecord:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    version: str
    origin: str  # "built-in" or "entry point"
    status: str = "ok"  # "ok", "failed" or "disabled"
    error: str = ""
    contributes: dict[str, list[str]] = field(default_factory=dict)
    traceback: str = ""  # the failure's full traceback, for --debug and ``zoo plugins --json``
    import_s: float = 0.0  # seconds its import took
    heavy_imports: list[str] = field(default_factory=list)  # e.g. ["tensorflow"] at import
    notes: list[str] = field(default_factory=list)  # warnings that did not make it fail

    def fail(self, message: str, trace: str = "") -> None:
        self.status = "failed"
        self.error = self.error or message
        self.traceback = self.traceback or trace


@dataclass
class LoadedPlugins:
    """A plugin manager together with the record of every plugin it tried."""

    manager: pluggy.PluginManager
    records: dict[str, PluginRecord]
    notes: list[str] = field(default_factory=list)  # problems of no one plugin (a misspelling)


def load_plugins(
    *,
    builtins: bool = True,
    entry_points: bool | None = None,
    disabled: Iterable[str] | None = None,
    extra: Iterable[tuple[str, object]] = (),
) -> LoadedPlugins:
    """Build a plugin manager.

    Args:
        builtins: load the first-party plugins shipped in ``zoo.plugins``.
        entry_points: load third-party plugins from the ``zoo`` entry-point group; by default
            unless the environment sets ZOO_DISABLE_PLUGIN_AUTOLOAD.
        disabled: plugin names to skip; by default the comma-separated ZOO_DISABLE_PLUGINS.
        extra: (name, module-or-object) pairs to register as well, e.g. from a notebook.

    Returns:
        The manager and one PluginRecord per plugin, failed ones included.
    """
    if entry_points is None:
        entry_points = not os.environ.get(NO_AUTOLOAD_ENV)
    if disabled is None:
        disabled = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]
    loaded = LoadedPlugins(pluggy.PluginManager(hookspecs.PROJECT_NAME), {})
    loaded.manager.add_hookspecs(hookspecs)
    skip = set(disabled)
    if builtins:
        for name, module_name in BUILTIN_PLUGINS.items():
            _add(
                loaded,
                name,
                __version__,
                "built-in",
                skip,
                lambda m=module_name: importlib.import_module(m),
            )
    available = list(BUILTIN_PLUGINS)
    for ep in plugin_entry_points():
        available.append(ep.name)
        if entry_points:
            version = ep.dist.version if ep.dist else "?"
            _add(loaded, ep.name, version, "entry point", skip, ep.load)
    for name, plugin in extra:
        available.append(name)
        _add(loaded, name, "?", "in process", skip, lambda p=plugin: p)
    loaded.notes += _unknown_disabled(skip, available)
    return loaded


def _unknown_disabled(skip: set[str], available: list[str]) -> list[str]:
    """A note for each name in ZOO_DISABLE_PLUGINS that names no installed plugin."""
    return [
        f"{DISABLE_ENV} names {shown(name)}, which is not an installed plugin; it disables "
        f"nothing.{did_you_mean(name, available)} 'zoo plugins' lists the names."
        for name in sorted(skip - set(available))
    ]


def plugin_entry_points() -> list[importlib_metadata.EntryPoint]:
    seen: set[str] = set()
    unique = []
    # The same distribution can be visible twice (an editable install plus a build dir).
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in seen:
            seen.add(ep.name)
            unique.append(ep)
    return unique


def _add(
    loaded: LoadedPlugins, name: str, version: str, origin: str, skip: set[str], load: object
) -> None:
    record = PluginRecord(name, version, origin)
    if name in loaded.records:
        record.fail(f"a plugin named {shown(name)} is already loaded; rename one entry point")
        loaded.records[f"{name} ({origin}, duplicate)"] = record
        return
    loaded.records[name] = record
    if name in skip:
        record.status = "disabled"
        return
    try:
        plugin = _timed_load(record, load)  # type: ignore[arg-type]
        _check_api(plugin)
        _register(loaded.manager, name, plugin)
    except Exception as exc:  # noqa: BLE001 - any failure of a plugin is that plugin's own
        record.fail(f"{type(exc).__name__}: {_first_line(exc)}", traceback.format_exc())


def _timed_load(record: PluginRecord, load: Callable[[], object]) -> object:
    """Import the plugin, recording its import time and the heavy frameworks it pulled in."""
    before = set(sys.modules)
    started = time.perf_counter()
    plugin = load()
    record.import_s = round(time.perf_counter() - started, 3)
    fresh = {name.partition(".")[0] for name in set(sys.modules) - before}
    # A framework another plugin imported first is still this plugin's if it holds it.
    held = {
        value.__name__.partition(".")[0]
        for value in getattr(plugin, "__dict__", {}).values()
        if isinstance(value, types.ModuleType)
    }
    record.heavy_imports = [m for m in HEAVY_MODULES if m in fresh | held]
    if record.heavy_imports:
        record.notes.append(
            f"imports {', '.join(record.heavy_imports)} when it is loaded ({record.import_s:.1f} s"
            " of every command); import it inside the functions it registers"
        )
    return plugin


def _check_api(plugin: object) -> None:
    """Refuse a plugin written for a plugin API this keras-zoo does not serve."""
    declared = getattr(plugin, API_ATTRIBUTE, None)
    if declared is None or declared in SUPPORTED_PLUGIN_APIS:
        return
    served = ", ".join(map(str, SUPPORTED_PLUGIN_APIS))
    raise pluggy.PluginValidationError(
        plugin,
        f"written for plugin API {shown(declared)} ({API_ATTRIBUTE}), but keras-zoo "
        f"{__version__} serves plugin API {served}; install a release of the plugin made for "
        f"API {served}, or a keras-zoo that serves API {shown(declared)}",
    )


def _register(manager: pluggy.PluginManager, name: str, plugin: object) -> None:
    """Register ``plugin``, rejecting hooks the spec does not define."""
    manager.register(plugin, name=name)
    unknown = [
        caller.name for caller in manager.get_hookcallers(plugin) or [] if not caller.has_spec()
    ]
    if unknown:
        manager.unregister(plugin)
        known = ", ".join(sorted(HOOK_NAMES))
        raise pluggy.PluginValidationError(
            plugin,
            f"unknown hook {', '.join(unknown)}; keras-zoo's hooks are {known}",
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- collecting registrations ---------------------------------------------------------------

HOOKS = {kind: f"register_{kind}" for kind in KINDS}


def collect_entries(loaded: LoadedPlugins) -> dict[str, list[Entry]]:
    """Every registration of the loaded plugins, by kind.

    Each plugin's hook is called on its own, so one that raises loses only its own entries;
    a plugin that fails in any hook is skipped as a whole (nothing it registered stays).
    """
    found = {kind: _collect(loaded, kind) for kind in KINDS}
    failed = {r.name for r in loaded.records.values() if r.status == "failed"}
    for name in failed:
        loaded.records[name].contributes = {}
    return {kind: [e for e in entries if e.plugin not in failed] for kind, entries in found.items()}


def _collect(loaded: LoadedPlugins, kind: str) -> list[Entry]:
    caller = getattr(loaded.manager.hook, HOOKS[kind])
    entries: list[Entry] = []
    for impl in reversed(caller.get_hookimpls()):
        record = loaded.records[impl.plugin_name]
        batch: list[Entry] = []
        try:
            returned = impl.function(register=_register_into(batch, kind, impl.plugin_name))
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is reported, not raised
            message = (
                str(exc)
                if isinstance(exc, PluginError)
                else (f"{HOOKS[kind]} raised {type(exc).__name__}: {exc}")
            )
            trace = traceback.format_exc()
            # All of that call's entries are lost, so nothing is half-registered.
            record.fail(message.splitlines()[0] if message else type(exc).__name__, trace)
            continue
        if returned is not None:
            record.notes.append(_returned_note(kind, returned, batch))
        entries.extend(batch)
        if batch:
            record.contributes.setdefault(kind, []).extend(e.name for e in batch)
    return entries


def _register_into(batch: list[Entry], kind: str, plugin: str) -> Callable[..., None]:
    def register(name: Any, factory: Any, **metadata: Any) -> None:
        if any(e.name == name for e in batch):
            raise PluginError(f"plugin {shown(plugin)} registered {kind[:-1]} {shown(name)} twice")
        batch.append(make_entry(kind, plugin, name, factory, metadata))

    return register


def _returned_note(kind: str, returned: Any, batch: list[Entry]) -> str:
    what = "registered nothing" if not batch else f"registered {len(batch)} {kind}"
    return (
        f"{HOOKS[kind]} returned {type(returned).__name__} instead of calling register(...); "
        f"the value is ignored and the hook {what}"
    )
