"""The ``zoo`` process skips Python's final garbage collections (half a second with
TensorFlow loaded); ``main`` called as a function leaves the caller's collector alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

EXIT_PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))
from zoo.cli.main import main
{call}
"""


@pytest.mark.parametrize(
    ("call", "frozen"),
    [
        ("sys.argv = ['zoo', 'list']\nmain()", True),  # the process's command line
        ("main(['list'])\nsys.exit(0)", False),  # called as a function: the caller goes on
        ("sys.argv = ['zoo', 'run', '--model', 'nope']\nmain()", True),  # an error exit too
    ],
)
def test_only_the_command_line_skips_the_final_collections(call: str, frozen: bool) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE.format(call=call)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == f"frozen {frozen}", done.stderr
