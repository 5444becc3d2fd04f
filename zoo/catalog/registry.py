"""The registry: lookup over what the plugins registered (``zoo.catalog.manager`` loads them and
collects their registrations), with list / get / describe / create and the policy hooks'
answers.

Names resolve like this: ``plugin:name`` always names one entry; a short ``name`` works while
exactly one plugin registered it. When two plugins register the same name neither wins: the
short name becomes an error that names both, and the qualified names keep working, unless
the user pins the short name to one plugin with ZOO_PREFER (``ZOO_PREFER="mlp=zoo.mlp"``).

A plugin that fails anywhere (its import, any of its hooks, a malformed registration) is
skipped as a whole: nothing it registered stays, and :attr:`Registry.problems` names it.
"""

from __future__ import annotations

import fnmatch
import os
import traceback
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from zoo.catalog.entries import KINDS, Entry
from zoo.catalog.hookspecs import DataChoice
from zoo.catalog.manager import LoadedPlugins, PluginRecord, collect_entries, load_plugins
from zoo.core.errors import (
    AmbiguousNameError,
    IncompatibleError,
    PluginError,
    UnknownNameError,
    ZooError,
    did_you_mean,
    shown,
)

PREFER_ENV = "ZOO_PREFER"


class PluginWarning(UserWarning):
    """A plugin was skipped or did something it should not; the others still work."""


class Registry:
    """Every data set, model and preset the loaded plugins registered."""

    def __init__(self, loaded: LoadedPlugins, prefer: Mapping[str, str] | None = None) -> None:
        self._entries: dict[str, list[Entry]] = collect_entries(loaded)
        self.plugins: dict[str, PluginRecord] = loaded.records
        self._manager = loaded.manager
        if prefer is None:
            prefer, problems = read_preferences(os.environ.get(PREFER_ENV, ""))
        else:
            problems = []
        self.preferences: dict[str, str] = dict(prefer)
        #: Problems of no one plugin: a misspelt ZOO_DISABLE_PLUGINS or ZOO_PREFER name.
        self.notes: list[str] = [*loaded.notes, *problems, *self._unknown_preferences()]
        self._note_duplicates()

    @classmethod
    def discover(
        cls, *, warn: bool = True, prefer: Mapping[str, str] | None = None, **options: Any
    ) -> Registry:
        """Load the built-in and installed plugins.

        Args:
            warn: raise a :class:`PluginWarning` for each failed plugin and each note.
            prefer: short name -> plugin that name means when several plugins register it;
                by default read from ZOO_PREFER (``"mlp=zoo.mlp,housing=my-plugin"``).
            **options: see :func:`zoo.catalog.manager.load_plugins`.
        """
        registry = cls(load_plugins(**options), prefer)
        if warn:
            for message in registry.warnings():
                warnings.warn(message, PluginWarning, stacklevel=2)
        return registry

    def warnings(self) -> list[str]:
        """One line per failed plugin, per plugin note (a shared name...) and general note."""
        lines = [
            f"plugin {shown(r.name)} was skipped: "
            f"{r.error.removeprefix(f'plugin {shown(r.name)} ')}"
            for r in self.problems
        ]
        lines += [
            f"plugin {shown(r.name)} {note}" for r in self.plugins.values() for note in r.notes
        ]
        return lines + self.notes

    # -- policy hooks ------------------------------------------------------------------------

    def claim_data(self, name: str) -> DataChoice | None:
        """The first plugin's claim on a ``--data`` string that names no data set."""
        found = self._first_result("zoo_data_for_name", name=name)
        if found is not None and not isinstance(found, DataChoice):
            raise PluginError(
                f"zoo_data_for_name returned {shown(found)} for {shown(name)}; expected a "
                "DataChoice or None"
            )
        return found

    def default_preset(self, task: str) -> str:
        """The preset for ``task`` when a run names none.

        Raises:
            IncompatibleError: no loaded plugin names one (the presets plugin is disabled).
        """
        found = self._first_result("zoo_default_preset", task=task)
        if not isinstance(found, str):
            raise IncompatibleError(
                f"No default preset for {task} tasks: no loaded plugin provides one (is the "
                "presets plugin disabled?). Name one with --preset; 'zoo list presets' shows them."
            )
        return found

    def read_inputs(self, path: str, schema: dict[str, Any]) -> Any:
        """Model inputs for a file of raw rows, read by the first plugin that takes it.

        Raises:
            IncompatibleError: no loaded plugin reads such files.
        """
        found = self._first_result("zoo_read_inputs", path=path, schema=schema)
        if found is None:
            raise IncompatibleError(
                f"No loaded plugin reads {shown(path)} (is the CSV plugin disabled?); "
                "'zoo plugins' lists what is loaded."
            )
        return found

    def _first_result(self, hook: str, **kwargs: Any) -> Any:
        # Called plugin by plugin, newest first like pluggy, so that a plugin that raises is
        # reported and skipped instead of breaking the command.
        for impl in reversed(getattr(self._manager.hook, hook).get_hookimpls()):
            record = self.plugins.get(impl.plugin_name)
            if record is not None and record.status != "ok":
                continue
            try:
                found = impl.function(**kwargs)
            except ZooError:
                raise  # the user's input is wrong (a bad file), not the plugin
            except Exception as exc:  # noqa: BLE001 - a plugin's failure is its own
                message = f"{hook} raised {type(exc).__name__}: {exc}".splitlines()[0]
                if record is not None:
                    record.fail(message, traceback.format_exc())
                    self._drop(impl.plugin_name)  # skipped as a whole: its entries go too
                warnings.warn(
                    f"plugin {shown(impl.plugin_name)} was skipped: {message}",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            if found is not None:
                return found
        return None

    def _drop(self, plugin: str) -> None:
        """Remove every entry of ``plugin``, which failed after its registrations."""
        for kind in KINDS:
            self._entries[kind] = [e for e in self._entries[kind] if e.plugin != plugin]
        self.plugins[plugin].contributes = {}

    # -- reading ---------------------------------------------------------------------------

    @property
    def problems(self) -> list[PluginRecord]:
        """The plugins that failed to load or register, for warnings."""
        return [r for r in self.plugins.values() if r.status == "failed"]

    def list(self, kind: str | None = None, pattern: str = "*") -> list[Entry]:
        """Entries of one kind (or all kinds) whose name matches a shell-style wildcard."""
        kinds = KINDS if kind is None else (_check_kind(kind),)
        found = [
            entry
            for k in kinds
            for entry in self._entries[k]
            if fnmatch.fnmatchcase(entry.name, pattern)
            or fnmatch.fnmatchcase(entry.qualified_name, pattern)
        ]
        return sorted(found, key=lambda e: (KINDS.index(e.kind), e.name, e.plugin))

    def names(self, kind: str) -> list[str]:
        """Display names: short where unique or pinned, qualified where plugins share a name."""
        return sorted(self.display_name(e) for e in self._entries[_check_kind(kind)])

    def display_name(self, entry: Entry) -> str:
        same = [e for e in self._entries[entry.kind] if e.name == entry.name]
        if len(same) == 1 or self.preferences.get(entry.name) == entry.plugin:
            return entry.name
        return entry.qualified_name

    @property
    def duplicates(self) -> dict[str, list[Entry]]:
        """Short names that several plugins register (of one kind), with their entries."""
        found: dict[str, list[Entry]] = {}
        for kind in KINDS:
            for entry in self._entries[kind]:
                found.setdefault(f"{kind}:{entry.name}", []).append(entry)
        return {key.partition(":")[2]: e for key, e in found.items() if len(e) > 1}

    def _note_duplicates(self) -> None:
        """Tell each plugin that shares a short name, unless the user pinned that name."""
        for name, entries in self.duplicates.items():
            if self.preferences.get(name) in {e.plugin for e in entries}:
                continue  # settled by the user
            for entry in entries:
                others = " and ".join(repr(e.plugin) for e in entries if e is not entry)
                self.plugins[entry.plugin].notes.append(
                    f"registers {entry.singular} {shown(name)}, which {others} also registers: "
                    f"the short name is ambiguous; use {entry.qualified_name} or pin it with "
                    f"{PREFER_ENV}={name}={entry.plugin}"
                )

    def _unknown_preferences(self) -> list[str]:
        return [
            f"{PREFER_ENV} pins {shown(name)} to plugin {shown(plugin)}, which registers no "
            f"{shown(name)}"
            for name, plugin in self.preferences.items()
            if not any(e.name == name and e.plugin == plugin for e in self.list())
        ]

    def get(self, name: str, kind: str | None = None) -> Entry:
        """Resolve a short or qualified name to exactly one entry.

        Raises:
            UnknownNameError: nothing of that name (with close names suggested).
            AmbiguousNameError: several plugins registered the short name.
        """
        kinds = KINDS if kind is None else (_check_kind(kind),)
        matches = [e for k in kinds for e in self._entries[k] if _matches(e, name)]
        pinned = [e for e in matches if self.preferences.get(e.name) == e.plugin]
        if len(matches) > 1 and len(pinned) == 1:
            return pinned[0]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(_ambiguity(name, matches))
        raise UnknownNameError(self._unknown(name, kinds))

    def _unknown(self, name: str, kinds: Iterable[str]) -> str:
        kinds = tuple(kinds)
        candidates = [n for k in kinds for n in self.names(k)]
        what = kinds[0][:-1] if len(kinds) == 1 else "data set, model or preset"
        what = "data set" if what == "dataset" else what
        listing = f"zoo list {kinds[0]}" if len(kinds) == 1 else "zoo list"
        return (
            f"Unknown {what} {shown(name)}.{did_you_mean(name, candidates)} "
            f"Run '{listing}' to see what is installed."
        )

    def create(self, kind: str, name: str, *args: Any, **overrides: Any) -> Any:
        """Call an entry's factory with keyword overrides checked against its hyperparameters.

        For a model, pass the :class:`zoo.core.spec.ModelSpec` as the first positional argument.
        """
        return self.get(name, kind).create(*args, **overrides)


def _matches(entry: Entry, name: str) -> bool:
    return name in (entry.name, entry.qualified_name)


def _ambiguity(name: str, matches: list[Entry]) -> str:
    plugins = " and ".join(repr(e.plugin) for e in matches)
    qualified = " or ".join(repr(e.qualified_name) for e in matches)
    return (
        f"{shown(name)} is registered by plugins {plugins}; name one of them: {qualified}, "
        f"or pin the short name with {PREFER_ENV}={name}={matches[0].plugin}."
    )


def read_preferences(text: str) -> tuple[dict[str, str], list[str]]:
    """Parse ZOO_PREFER's ``name=plugin,name=plugin`` into a dict, and notes on bad items."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, plugin = (side.strip() for side in item.partition("="))
        if not (sep and name and plugin):
            problems.append(
                f"{PREFER_ENV} item {shown(item)} is not NAME=PLUGIN (e.g. mlp=zoo.mlp); it is "
                "ignored"
            )
            continue
        found[name] = plugin
    return found, problems


def _check_kind(kind: str) -> str:
    if kind in KINDS:
        return kind
    if f"{kind}s" in KINDS:
        return f"{kind}s"
    raise UnknownNameError(f"Unknown kind {shown(kind)}; expected one of {', '.join(KINDS)}.")
