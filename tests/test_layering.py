"""The architecture, held by tests where import-linter cannot see: first-party plugins import
only the public plugin module, no package has an import cycle (plugins included, lazy and
type-checking imports counted), modules stay small, and the calls between the core layers are
typed (no bare ``Any``)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = sorted([*(ROOT / "zoo").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
MAX_MODULE_LINES = 500  # a module holds one idea; past this it likely holds two
MAX_FUNCTION_LINES = 60
# Functions that are declarative tables (one registration per entry), not logic.
DECLARATIVE = {("plugins/presets.py", "register_presets")}


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "plugins").rglob("*.py")), ids=str)
def test_first_party_plugins_import_only_the_public_plugin_module(path):
    zoo_imports = [m for m in _imported_modules(path) if m == "zoo" or m.startswith("zoo.")]
    wrong = [m for m in zoo_imports if m != "zoo.plugin" and not m.startswith("zoo.plugins")]
    assert not wrong, f"{path.name} imports {wrong}; plugins import only zoo.plugin"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_hold_one_idea_in_short_functions(path):
    text = path.read_text()
    name = str(path.relative_to(ROOT))
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; does it hold two ideas?"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if (name, node.name) not in DECLARATIVE:
                assert length <= MAX_FUNCTION_LINES, f"{name}: {node.name} has {length} lines"


# -- import cycles ------------------------------------------------------------------------
# import-linter analyses only ``zoo`` as installed: plugins/ (mapped to zoo.plugins) escapes
# it. Here every import counts, inside functions and ``if TYPE_CHECKING:`` blocks too.

TREES = {"zoo": ROOT / "zoo", "zoo.plugins": ROOT / "plugins"}


def _module_files() -> dict[str, Path]:
    """Every module by its dotted name; a package by its name (its ``__init__.py``)."""
    modules = {}
    for root, folder in TREES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.setdefault(".".join((root, *parts)), path)
    return modules


MODULES = _module_files()


def _imports_of(name: str, path: Path) -> set[str]:
    """The first-party modules ``name`` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # ``from package import module`` imports the module
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return {module for module in map(_nearest_module, found) if module} - {name}


def _nearest_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _packages() -> dict[str, list[str]]:
    """The modules of ``zoo`` (sub-packages included), and of each plugin package apart."""
    plugins = TREES["zoo.plugins"]
    packages = {
        "zoo": [m for m in MODULES if MODULES[m].is_relative_to(TREES["zoo"])],
        "zoo.plugins": [m for m in MODULES if MODULES[m].parent == plugins],
    }
    for folder in sorted(p.parent for p in plugins.glob("*/__init__.py")):
        packages[f"zoo.plugins.{folder.name}"] = [
            m for m in MODULES if MODULES[m].is_relative_to(folder)
        ]
    return packages


def _import_graph(modules: list[str]) -> dict[str, set[str]]:
    """Each module's imports of the others in ``modules`` (a package imports as its
    ``__init__``)."""
    inside = set(modules)
    return {m: _imports_of(m, MODULES[m]) & inside for m in modules}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it (the first repeated at the end)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            if found := visit(nxt, [*path, node]):
                return found
        done.add(node)
        return None

    return next(filter(None, (visit(node, []) for node in sorted(graph))), None)


def test_the_cycle_finder_sees_lazy_type_checking_and_relative_imports(tmp_path):
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert _cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]
    assert _cycle({"p.a": {"p.b"}, "p.d": {"p.a", "p.b"}}) is None
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import wide\n"
        "if TYPE_CHECKING:\n    from zoo.plugins.csv_files.layout import CsvLayout\n"
        "def f():\n    from .scan import CsvStream\n    import zoo.plugin\n"
    )
    (tmp_path / "m.py").write_text(source)
    found = _imports_of("zoo.plugins.csv_files.m", tmp_path / "m.py")
    expected = {f"zoo.plugins.csv_files.{m}" for m in ("wide", "layout", "scan")}
    assert found == expected | {"zoo.plugin"}
    assert {"zoo", "zoo.plugins", "zoo.plugins.csv_files"} <= set(_packages())


@pytest.mark.parametrize("package", sorted(_packages()))
def test_no_package_has_an_import_cycle_counting_lazy_imports(package):
    cycle = _cycle(_import_graph(_packages()[package]))
    assert cycle is None, f"{package}: import cycle {' -> '.join(cycle or [])}"


def _cross_layer_callables():
    from zoo.plan import planning
    from zoo.runs import folder
    from zoo.train import fitting, job, runner

    yield planning.plan
    yield from (runner.execute, runner.build_model, runner.split_for_training)
    yield runner.load_checked
    yield from (fitting.fit, fitting.with_preparation, fitting.part_outputs)
    yield fitting.fine_tune
    for cls in (job.Job, folder.RunFolder):
        yield from (f for name, f in vars(cls).items() if inspect.isfunction(f))


def test_calls_between_core_layers_name_their_types():
    untyped = []
    for function in _cross_layer_callables():
        for name, annotation in function.__annotations__.items():
            exempt = ("return", "progress", "details")  # progress: any callback factory
            if str(annotation).strip("'\"") == "Any" and name not in exempt:
                untyped.append(f"{function.__qualname__}({name})")
    assert not untyped, f"parameters typed Any between layers: {untyped}"


# -- signatures ---------------------------------------------------------------------------
# More than a handful of parameters is a missing object; a positional boolean is a call that
# reads ``f(x, True, False)``. Click command functions take one parameter per option, and
# click calls option callbacks positionally: both are exempt.

MAX_PARAMETERS = 6
# Functions that keep their signature, and why.
SIGNATURE_EXEMPT = {
    # Keras's API: a layer's __init__ takes its get_config() keys (saved models are rebuilt
    # from them), and Keras passes ``training`` to call().
    ("zoo/core/layers.py", "__init__"),
    ("zoo/core/layers.py", "call"),
    # Traced by tf.function / jax.jit: the positional arguments are the traced signature.
    ("zoo/train/tf_steps.py", "_run_block"),
    ("zoo/train/jax_steps.py", "_run_block"),
}
SIGNATURE_TO_FIX: set[tuple[str, str]] = set()  # none left


def _is_click_function(node: ast.FunctionDef | ast.AsyncFunctionDef, callbacks: set[str]) -> bool:
    """A click command (decorated by click or by a command group) or an option callback."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if ast.unparse(target).split(".")[0] == "click" or ast.unparse(target).endswith(".command"):
            return True
    return node.name in callbacks


def _signature_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    callbacks = {
        keyword.value.id
        for keyword in (k for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords)
        if keyword.arg == "callback" and isinstance(keyword.value, ast.Name)
    }
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if _is_click_function(node, callbacks):
            continue
        args = node.args
        positional = [a for a in (*args.posonlyargs, *args.args) if a.arg not in ("self", "cls")]
        count = len(positional) + len(args.kwonlyargs)
        if count > MAX_PARAMETERS:
            problems.append(f"{node.name} has {count} parameters")
        for arg in positional:
            if arg.annotation is not None and "bool" in ast.unparse(arg.annotation).split(" | "):
                problems.append(f"{node.name} takes {arg.arg} (a bool) positionally")
    return problems


@pytest.mark.parametrize(
    "path", sorted((ROOT / "zoo").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_functions_take_few_parameters_and_no_positional_booleans(path):
    name = str(path.relative_to(ROOT))
    exempt = SIGNATURE_EXEMPT | SIGNATURE_TO_FIX
    found = [p for p in _signature_problems(path) if (name, p.split()[0]) not in exempt]
    assert not found, f"{name}: {found}; bundle options in a dataclass, make booleans keyword-only"


def test_the_signature_rule_sees_positional_booleans_and_long_signatures(tmp_path):
    source = (
        "import click\n"
        "def f(a, b, c, d, e, f, g): ...\n"
        "def g(x, flag: bool = False): ...\n"
        "def h(x, *, flag: bool = False, **kw): ...\n"
        "def cb(ctx, param, value: bool): ...\n"
        "OPTION = click.option('--x', callback=cb)\n"
        "@click.command()\n@click.option('--y')\ndef cmd(a, b, c, d, e, f, g: bool): ...\n"
    )
    (tmp_path / "m.py").write_text(source)
    assert _signature_problems(tmp_path / "m.py") == [
        "f has 7 parameters",
        "g takes flag (a bool) positionally",
    ]
