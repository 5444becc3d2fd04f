"""The packages a run depends on, and their versions on a worker against the driver's.

A plan resolved on the driver is resolved again on the worker from the worker's installed
plugins; different versions could train something else, so they must be the same.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from zoo.core.errors import IncompatibleError

PACKAGES = ("keras-zoo", "keras", "tensorflow")
PLUGIN = "plugin "


def installed_versions(plugins: dict[str, str]) -> dict[str, str | None]:
    """``keras-zoo``, ``keras``, ``tensorflow`` and ``plugin NAME`` -> version (None: absent).

    Args:
        plugins: the registry's plugin name -> version.
    """
    found: dict[str, str | None] = {name: _version(name) for name in PACKAGES}
    found.update({f"{PLUGIN}{name}": version for name, version in sorted(plugins.items())})
    return found


def registry_versions(registry: Any) -> dict[str, str | None]:
    """:func:`installed_versions` of a registry's installed plugins that loaded.

    Plugins registered in process (a module named to ``zoo bench``) have no version to
    compare: the worker imports them by name when it needs them.
    """
    plugins = {
        name: record.version
        for name, record in registry.plugins.items()
        if record.status == "ok" and record.origin != "in process"
    }
    return installed_versions(plugins)


def mismatch(driver: dict[str, str | None], worker: dict[str, str | None], node: str) -> str:
    """One line naming the first package whose version differs; '' when all agree."""
    for name, wanted in driver.items():
        found = worker.get(name)
        if found == wanted:
            continue
        what = name[len(PLUGIN) :] if name.startswith(PLUGIN) else name
        kind = "plugin" if name.startswith(PLUGIN) else "package"
        has = f"has {what} {found}" if found else f"does not have the {kind} {what}"
        hint = f" (pip install '{_pin(what, wanted)}')" if kind == "package" else ""
        return (
            f"The Ray worker on {node} {has}, but this machine has {what} {wanted}; install "
            f"the same version on every node of the cluster{hint}."
        )
    return ""


def check(driver: dict[str, str | None], worker: dict[str, str | None], node: str) -> None:
    """Raises IncompatibleError (one line, naming the package) when versions differ."""
    problem = mismatch(driver, worker, node)
    if problem:
        raise IncompatibleError(problem)


def _pin(name: str, version: str | None) -> str:
    return f"{name}=={version}" if version else name


def _version(distribution: str) -> str | None:
    if distribution == "keras-zoo":
        from zoo._version import __version__

        return __version__
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
