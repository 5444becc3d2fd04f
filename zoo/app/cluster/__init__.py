"""Grids and searches on a Ray cluster: one Ray task per combination or trial.

``options`` (the address, the resources a run asks for, Ray as an optional extra),
``versions`` (the worker's packages against the driver's), ``worker`` (what runs in a Ray
worker: the version check, a scratch folder, the run folders packed to travel back),
``session`` (connecting, submitting, retrying a dead worker once, cancelling on Ctrl-C).
The use cases (``zoo bench``, ``zoo tune``) send plain data and a function to run it;
nothing here knows about grids or studies. Importing this package does not import Ray.
"""

from .options import ClusterOptions, parse_resources, require_ray
from .session import ClusterSession, TaskOutcome, unpack

__all__ = [
    "ClusterOptions",
    "ClusterSession",
    "TaskOutcome",
    "parse_resources",
    "require_ray",
    "unpack",
]
