"""Helpers the tests import: installing real distributions and running `zoo` processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def pip_install_target(project: Path, target: Path) -> Path:
    """Install a project folder or a wheel into ``target`` with pip, as a user would.

    A folder is built from a private copy: pip builds in the source folder (build/,
    *.egg-info), and test processes running side by side must not share those.
    """
    if Path(project).is_dir():
        copy = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent)) / Path(project).name
        ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
        shutil.copytree(project, copy, ignore=ignore)
        project = copy
    pip("install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), project)
    return target


def pip(*args: str | Path) -> subprocess.CompletedProcess:
    """Run ``python -m pip ARGS`` with this interpreter; raise if it fails."""
    command = [sys.executable, "-m", "pip", *map(str, args)]
    return subprocess.run(command, check=True, capture_output=True, text=True)


IMPORT_PROBE = """
import sys
from zoo.cli.main import main
try:
    main({args!r})
except SystemExit as done:
    assert not done.code, done.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})
print('HEAVY:' + ','.join(heavy[:5]))
"""


def heavy_imports(args: list[str], packages: tuple[str, ...]) -> list[str]:
    """Run ``zoo ARGS`` in a fresh interpreter (it must succeed); the first few modules of
    ``packages`` it imported, none when it stayed light."""
    probe = IMPORT_PROBE.format(args=args, packages=packages)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY:"), done.stdout
    found = last.removeprefix("HEAVY:")
    return found.split(",") if found else []


def run_zoo_process(
    *args: str,
    extra_path: Path | None = None,
    cwd: Path | None = None,
    python_args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """Run ``python -m zoo ARGS`` in a fresh interpreter."""
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *python_args, "-m", "zoo", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_tiny_csv(path: Path, rows: int = 60, seed: int = 0) -> Path:
    """A small regression CSV file: three numeric features ``a``, ``b``, ``c`` and target ``y``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.1, size=rows)
    rows_text = (",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y, strict=True))
    lines = ["a,b,c,y", *rows_text]
    path.write_text("\n".join(lines) + "\n")
    return path


# ``zoo ARGS`` in a fresh interpreter that prints its exit code (if not 0) and the first
# TensorFlow / Keras modules it imported: a check that ends before TensorFlow loads.
PLAN_ONLY = """
import sys
from zoo.cli.main import main
try:
    main({args!r})
except SystemExit as done:
    print("EXIT", done.code)
print("HEAVY", sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))[:3])
"""


def saved_test_part(run) -> tuple:
    """The test part (inputs, labels) a saved run was scored on, cut again from its config."""
    from zoo import Registry
    from zoo.app.saved import saved_plan
    from zoo.core.parts import TEST
    from zoo.train.runner import load_checked, split_for_training

    checked = saved_plan(run, run.config, Registry.discover())
    return split_for_training(load_checked(checked), checked.config).arrays(TEST)
