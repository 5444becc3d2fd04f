"""Help, listing, info and plugins must never import TensorFlow or Keras."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from zoo.cli.main import main
try:
    main({args!r})
except SystemExit as done:
    assert not done.code, done.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax'))
print('HEAVY:' + ','.join(heavy[:5]))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list"],
        ["list", "models", "--json"],
        ["info", "mlp"],
        ["info", "housing"],
        ["plugins"],
        ["run", "--help"],
    ],
)
def test_command_does_not_import_a_framework(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_importing_the_package_is_light():
    code = "import sys, zoo; print(any(m.startswith(('tensorflow', 'keras')) for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False"
