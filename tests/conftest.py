"""Shared fixtures: real plugin distributions installed with pip, and ways to run `zoo`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import pip_install_target

from zoo.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="session")
def example_plugin_path(tmp_path_factory) -> Path:
    """A site directory holding the installed zoo-example-plugin distribution."""
    return pip_install_target(EXAMPLES / "zoo-example-plugin", tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="session")
def broken_plugins_path(tmp_path_factory) -> Path:
    """A site directory holding the installed zoo-broken-plugins distribution."""
    return pip_install_target(FIXTURES / "zoo-broken-plugins", tmp_path_factory.mktemp("bad"))


@pytest.fixture
def with_example_plugin(example_plugin_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(example_plugin_path))
    return example_plugin_path


@pytest.fixture
def with_broken_plugins(broken_plugins_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(broken_plugins_path))
    return broken_plugins_path


def _installed(name: str):
    """A session fixture: the fixture distribution ``name`` installed into its own folder."""

    @pytest.fixture(scope="session")
    def site(tmp_path_factory) -> Path:
        return pip_install_target(FIXTURES / name, tmp_path_factory.mktemp(name))

    return site


# One class of mistake per entry point (see each distribution's pyproject.toml).
mistakes_path = _installed("zoo-plugin-mistakes")
breakers_path = _installed("zoo-contract-breakers")
heavy_path = _installed("zoo-heavy-plugin")


@pytest.fixture
def with_mistakes(mistakes_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(mistakes_path))
    return mistakes_path


@pytest.fixture
def with_breakers(breakers_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(breakers_path))
    return breakers_path


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
