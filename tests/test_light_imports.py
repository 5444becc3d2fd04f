"""Help, listing, info and plugins must never import TensorFlow or Keras."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import heavy_imports


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
    assert heavy_imports(args, ("tensorflow", "keras", "jax")) == []


def test_importing_the_package_is_light():
    code = "import sys, zoo; print(any(m.startswith(('tensorflow', 'keras')) for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False"
