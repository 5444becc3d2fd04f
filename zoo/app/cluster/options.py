"""Where to run (``--cluster``) and what each run asks for (``--resources-per-run``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zoo.core.errors import InvalidParameterError
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
        f"{address!r}. Start a cluster with 'ray start --head' and give its address."
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
                f"{DEFAULT_RESOURCES}); received {item.strip()!r}."
            )
        values[RESOURCE_KEYS[key.lower()]] = amount
    if not any(values.values()):
        raise InvalidParameterError(
            f"--resources-per-run must ask for some CPU or GPU; received {text!r}. "
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
