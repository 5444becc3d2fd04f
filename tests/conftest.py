"""Shared fixtures: real plugin distributions installed with pip, and ways to run `zoo`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import pip_install_target

from zoo.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parents[1] / "examples"


def _installed(project: Path):
    """A session fixture: the distribution in the folder ``project`` installed with pip into a
    site directory of its own."""

    @pytest.fixture(scope="session")
    def site(tmp_path_factory) -> Path:
        return pip_install_target(project, tmp_path_factory.mktemp(project.name))

    return site


def _on_sys_path(site: str):
    """A fixture: the site directory of the session fixture ``site`` put first on sys.path
    for one test (its plugins' entry points found as an installed one's are)."""

    @pytest.fixture
    def prepended(request, monkeypatch) -> Path:
        path = request.getfixturevalue(site)
        monkeypatch.syspath_prepend(str(path))
        return path

    return prepended


example_plugin_path = _installed(EXAMPLES / "zoo-example-plugin")
broken_plugins_path = _installed(FIXTURES / "zoo-broken-plugins")
# One class of mistake per entry point (see each distribution's pyproject.toml).
mistakes_path = _installed(FIXTURES / "zoo-plugin-mistakes")
breakers_path = _installed(FIXTURES / "zoo-contract-breakers")
heavy_path = _installed(FIXTURES / "zoo-heavy-plugin")

with_example_plugin = _on_sys_path("example_plugin_path")
with_broken_plugins = _on_sys_path("broken_plugins_path")
with_mistakes = _on_sys_path("mistakes_path")
with_breakers = _on_sys_path("breakers_path")
with_heavy_plugin = _on_sys_path("heavy_path")


@pytest.fixture
def zoo_cli(capsys):
    """Run ``zoo ARGS`` in process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One real, complete run folder (linear, 1 epoch) on a 60-row CSV file named by a
    relative path; tests copy it before changing anything."""
    import os

    from helpers import write_tiny_csv

    home = tmp_path_factory.mktemp("tiny-run")
    write_tiny_csv(home / "tiny.csv")
    before = os.getcwd()
    os.chdir(home)  # the relative path must be recorded as an absolute one
    try:
        args = ["run", "-m", "linear", "-d", "tiny.csv", "-t", "y", "--epochs", "1", "-q"]
        try:
            main([*args, "--runs-dir", "runs"])
        except SystemExit as done:
            assert not done.code, f"the tiny run failed with exit code {done.code}"
    finally:
        os.chdir(before)
    (folder,) = (home / "runs").iterdir()
    return folder


@pytest.fixture(scope="session")
def binary_csv(tmp_path_factory) -> Path:
    """60 rows, two features, a text label that the first feature decides."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    x = rng.normal(size=(60, 2))
    rows = [[f"{a:.3f}", f"{b:.3f}", "late" if a > 0 else "paid"] for a, b in x]
    path.write_text("income,age,status\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="session")
def binary_run(binary_csv, tmp_path_factory) -> Path:
    """One real, complete binary classifier's run folder (linear, 2 epochs) on binary_csv;
    tests that change it work on a copy (``zoo evaluate --data`` adds evaluations/NAME/)."""
    import zoo

    runs = tmp_path_factory.mktemp("runs")
    config = zoo.RunConfig(
        model="linear", data=str(binary_csv), target="status", epochs=2, runs_dir=str(runs)
    )
    return zoo.run(config).folder
