"""docs/plugins.md cannot drift from the code: its blocks run, its reference covers the API.

The tutorial is followed for real: blocks starting with ``# file: PATH`` are written into an
empty folder, ``pip install`` installs it, ``zoo ...`` lines run through the CLI, ``python -m
pytest tests`` runs the tutorial's test file, and every other Python block is executed in
order, in one namespace.
"""

from __future__ import annotations

import re
import shlex
import types
from dataclasses import fields
from pathlib import Path

import pytest
from helpers import pip_install_target

import zoo.plugin
from zoo.catalog.entries import SCHEMAS
from zoo.catalog.manager import HOOK_NAMES
from zoo.core.dataset import Dataset
from zoo.core.spec import ModelSpec

DOC = Path(__file__).parents[1] / "docs" / "plugins.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE_LINE = re.compile(r"^# file: (\S+)\n")


def blocks() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in BLOCK.findall(TEXT) if lang]


def test_only_known_block_languages():
    assert {lang for lang, _ in blocks()} <= {"python", "toml", "bash"}


def _section(start: str, end: str) -> str:
    return TEXT[TEXT.index(start) : TEXT.index(end, TEXT.index(start))]


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        ("datasets", "**Data sets**", "**Models**"),
        ("models", "**Models**", "**Presets**"),
        ("presets", "**Presets**", "**Hyperparameters**"),
    ],
)
def test_every_register_keyword_is_documented(kind, start, end):
    section = _section(start, end)
    missing = [key for key in SCHEMAS[kind] if f"`{key}`" not in section]
    assert not missing, f"docs/plugins.md does not document {kind} keyword(s) {missing}"


@pytest.mark.parametrize("name", sorted(zoo.plugin.__all__))
def test_every_public_plugin_name_is_documented(name):
    assert f"`{name}`" in TEXT or f"`{name}(" in TEXT


@pytest.mark.parametrize("hook", sorted(HOOK_NAMES))
def test_every_hook_is_documented(hook):
    assert f"`{hook}(" in TEXT


@pytest.mark.parametrize(
    ("cls", "start"), [(Dataset, "### `Dataset`"), (ModelSpec, "### `ModelSpec`")]
)
def test_every_field_is_documented(cls, start):
    section = _section(start, "\n### ")
    assert all(f"`{f.name}`" in section for f in fields(cls))


def _run_bash(line: str, folder: Path, site: Path, zoo_cli, monkeypatch, namespace) -> None:
    words = shlex.split(line.split("#")[0])
    if words[:2] == ["pip", "install"]:
        pip_install_target(folder, site)
        monkeypatch.syspath_prepend(str(site))
    elif words[:3] == ["python", "-m", "pytest"]:
        _run_test_files(folder / words[3], namespace)
    else:
        assert words[0] == "zoo", f"a command the docs test cannot follow: {line}"
        code, out, err = zoo_cli(*words[1:])
        assert code == 0, f"{line}: {err}"


def _run_test_files(tests: Path, namespace: dict) -> None:
    for path in sorted(tests.glob("test_*.py")):
        module = types.ModuleType(path.stem)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        for function in (v for k, v in vars(module).items() if k.startswith("test_")):
            for param in function.pytestmark[0].args[1]:
                function(param.values[0])
                namespace.setdefault("checks_run", []).append(param.id)


@pytest.mark.slow
def test_the_tutorial_runs_from_an_empty_folder(tmp_path, zoo_cli, monkeypatch):
    folder, site, namespace = tmp_path / "zoo-wave", tmp_path / "site", {}
    monkeypatch.chdir(tmp_path)
    for lang, code in blocks():
        target = FILE_LINE.match(code)
        if target:
            path = folder / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code, encoding="utf-8")
        elif lang == "bash":
            for line in filter(None, map(str.strip, code.splitlines())):
                _run_bash(line, folder, site, zoo_cli, monkeypatch, namespace)
        elif lang == "python":
            exec(compile(code, f"<{DOC.name} block>", "exec"), namespace)
    assert len(namespace["checks_run"]) == 13
