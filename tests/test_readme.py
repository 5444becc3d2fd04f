"""Every code block in README.md runs, or says why it does not.

Python blocks are executed as they stand, in a temporary working directory (nothing else is
changed), one namespace per block; TOML blocks are experiment files and must plan with
``zoo run -c FILE --dry-run``. A block that must not run here (it installs packages, runs the
whole suite, or trains for minutes) is preceded by the marker
``<!-- not run by tests: REASON -->``, and the reason is required. Blocks without a language
show output or layouts and are not code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
SKIP = "not run by tests:"


def blocks() -> list[tuple[str, str, str, int]]:
    """(language, body, marker, line) for every fenced block of the README."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        found.append((match["lang"], match["body"], (match["marker"] or "").strip(), line))
    return found


def _ids(block: tuple[str, str, str, int]) -> str:
    return f"{block[0] or 'text'}-line{block[3]}"


def test_the_readme_has_code_blocks_and_every_skip_says_why():
    found = blocks()
    assert sum(lang == "python" for lang, *_ in found) >= 1
    for _, _, marker, line in found:
        if marker:
            assert marker.startswith(SKIP) and marker[len(SKIP) :].strip(), f"line {line}"


RUNNABLE = [b for b in blocks() if b[0] in ("python", "toml", "bash") and not b[2]]


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in RUNNABLE if b[0] == "python"], ids=_ids)
def test_python_blocks_run(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block[1], f"README.md:{block[3]}", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("block", [b for b in RUNNABLE if b[0] == "toml"], ids=_ids)
def test_toml_blocks_parse_and_experiment_files_plan(block, tmp_path, zoo_cli):
    import tomllib

    values = tomllib.loads(block[1])
    if not {"model", "data"} <= set(values):
        return  # another kind of file (a search space): parsing is the check
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(block[1], encoding="utf-8")
    code, _, err = zoo_cli("run", "-c", str(experiment), "--dry-run")
    assert code == 0, err
    assert "configuration is valid" in err


@pytest.mark.parametrize("block", [b for b in RUNNABLE if b[0] == "bash"], ids=_ids)
def test_shell_blocks_are_valid_zoo_command_lines(block, tmp_path, monkeypatch, zoo_cli):
    """Each line parses with the real CLI; a ``zoo run`` that needs no file also plans."""
    monkeypatch.chdir(tmp_path)
    commands = shell_commands(block[1])
    assert commands, f"README line {block[3]}: no zoo command; mark the block as not run"
    for args in commands:
        assert args[0] == "zoo", f"README line {block[3]}: {args}: mark the block as not run"
        parse(args[1:])
        if args[1] == "run" and not {"-c", "--config", "--resume"} & set(args):
            code, _, err = zoo_cli(*args[1:], "--dry-run")
            assert code == 0, f"{' '.join(args)}: {err}"


def shell_commands(body: str) -> list[list[str]]:
    """The command lines of a shell block: continuations joined, comments dropped."""
    import shlex

    joined = body.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def parse(args: list[str]) -> None:
    """Parse ``zoo ARGS`` with the real click commands, without running them."""
    from zoo.cli.main import cli

    with cli.make_context("zoo", list(args), resilient_parsing=False) as context:
        name, command, rest = cli.resolve_command(context, context.protected_args + context.args)
        command.make_context(name, rest, parent=context)
