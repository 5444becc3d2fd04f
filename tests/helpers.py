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
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(project),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


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
