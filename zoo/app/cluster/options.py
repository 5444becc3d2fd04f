"""Where to run (``--cluster``), what each run asks for (``--resources-per-run``), and the
versions every node must share: the packages a run depends on, a worker's against the
driver's.

A plan resolved on the driver is resolved again on the worker from the worker's installed
plugins; different versions could train something else, so they must be the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from zoo.core.errors import IncompatibleError, InvalidParameterError, shown
from zoo.core.imports import import_extra

LOCAL, AUTO = "local", "auto"
RESOURCE_KEYS = {"cpu": "num_cpus", "gpu": "num_gpus"}
DEFAULT_RESOURCES = "cpu=1,gpu=0"
ADDRESS = re.compile(r"^ray://[A-Za-z0-9_.\-\[\]:]+:\d+$")


@dataclass(frozen=True)
class ClusterOptions:
    """A Ray cluster to run on and the resources of each task.

    Args:
        address: ``local`` (start a Ray runtime on this machine), ``auto`` (the cluster
            this machine belongs to) or ``ray://HOST:PORT`` (a Ray client address).
        resources: Ray task options, e.g. ``{"num_cpus": 1.0, "num_gpus": 0.0}``.
    """

    address: str
    resources: dict[str, float] = field(default_factory=lambda: parse_resources(None))

    def __post_init__(self) -> None:
        check_address(self.address)

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "resources": dict(self.resources)}


def check_address(address: str) -> None:
    """Raises InvalidParameterError for anything but local, auto or ray://HOST:PORT."""
    if address in (LOCAL, AUTO) or ADDRESS.match(address or ""):
        return
    raise InvalidParameterError(
        f"--cluster must be 'local', 'auto' or a Ray client address ray://HOST:PORT; received "
        f"{shown(address)}. Start a cluster with 'ray start --head' and give its address."
    )


def parse_resources(text: str | None) -> dict[str, float]:
    """``cpu=1,gpu=0`` -> ``{"num_cpus": 1.0, "num_gpus": 0.0}`` (missing keys: cpu 1, gpu 0).

    Raises:
        InvalidParameterError: an unknown key, a value that is not a number, a negative one,
            or no CPU and no GPU at all.
    """
    values = {"num_cpus": 1.0, "num_gpus": 0.0}
    for item in (text or DEFAULT_RESOURCES).split(","):
        key, sign, value = (part.strip() for part in item.partition("="))
        if not item.strip():
            continue
        amount = _amount(value) if sign else None
        if key.lower() not in RESOURCE_KEYS or amount is None:
            raise InvalidParameterError(
                f"--resources-per-run takes cpu=N and gpu=N, comma-separated (such as "
                f"{DEFAULT_RESOURCES}); received {shown(item.strip())}."
            )
        values[RESOURCE_KEYS[key.lower()]] = amount
    if not any(values.values()):
        raise InvalidParameterError(
            f"--resources-per-run must ask for some CPU or GPU; received {shown(text)}. "
            f"Give, for example, {DEFAULT_RESOURCES}."
        )
    return values


def _amount(text: str) -> float | None:
    try:
        amount = float(text)
    except ValueError:
        return None
    return amount if amount >= 0 else None


def require_ray() -> Any:
    """Import Ray, or say in one line how to install it.

    Raises:
        IncompatibleError: Ray is not installed.
    """
    return import_extra("ray", "--cluster", "ray")


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
