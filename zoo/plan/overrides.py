"""What a user asks for beyond names: ``--set key=value`` overrides, typed by the defaults
they replace, and experiment files (TOML), with their precedence."""

from __future__ import annotations

import json
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from zoo.catalog.entries import Param
from zoo.core.config import FALSE_WORDS, TRUE_WORDS, RunConfig
from zoo.core.errors import InvalidParameterError, did_you_mean, shown

SECTIONS = ("model", "data", "preset")


Sections = Mapping[str, tuple[Param, ...]]


def apply_sets(values: dict[str, Any], sets: Iterable[str], sections: Sections) -> None:
    """Fold ``--set`` strings into a RunConfig keyword dict (``values``), in place.

    A key is ``model.NAME``, ``data.NAME`` or ``preset.NAME``, or a bare NAME that exactly
    one of the three declares (or a RunConfig field such as ``epochs``).

    Args:
        values: RunConfig keywords; ``*_params`` dicts receive the typed values.
        sets: the ``KEY=VALUE`` strings, applied in order.
        sections: the hyperparameters of the resolved data set, model and preset.
    """
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(
                f"--set expects KEY=VALUE, e.g. --set hidden=64,64; received {shown(item)}."
            )
        section, param = _locate(key.strip(), sections)
        target = values if section is None else values.setdefault(f"{section}_params", {})
        target[param.name] = coerce(param, raw.strip())


def _locate(key: str, sections: Sections) -> tuple[str | None, Param]:
    if "." in key:
        section, name = key.split(".", 1)
        if section not in SECTIONS:
            name = shown(name, quote=False)
            raise InvalidParameterError(
                f"--set {shown(key, quote=False)}: {shown(section)} is not one of "
                f"{', '.join(SECTIONS)}; write model.{name}, data.{name} or preset.{name}."
            )
        return section, _find(section, name, sections.get(section, ()))
    owners = [(s, p) for s in SECTIONS for p in sections.get(s, ()) if p.name == key]
    if len(owners) == 1:
        return owners[0]
    if len(owners) > 1:
        options = " or ".join(f"{s}.{key}" for s, _ in owners)
        raise InvalidParameterError(f"--set {key} is ambiguous; write {options}.")
    top = run_fields()
    if key in top:
        return None, top[key]
    everything = [f"{s}.{p.summary()}" for s in SECTIONS for p in sections.get(s, ())]
    names = [p.name for s in SECTIONS for p in sections.get(s, ())] + list(top)
    raise InvalidParameterError(
        f"--set {shown(key, quote=False)}: no such hyperparameter.{did_you_mean(key, names)} "
        f"Valid keys: {', '.join(everything) or 'none'}."
    )


def _find(section: str, name: str, params: tuple[Param, ...]) -> Param:
    for param in params:
        if param.name == name:
            return param
    valid = ", ".join(p.summary() for p in params) or "none"
    raise InvalidParameterError(
        f"--set {section}.{shown(name, quote=False)}: the {section} has no hyperparameter "
        f"{shown(name)}."
        f"{did_you_mean(name, [p.name for p in params])} Valid keys: {valid}."
    )


def run_fields() -> dict[str, Param]:
    skip = {"model", "data", "preset", "model_params", "data_params", "preset_params"}
    defaults = RunConfig(model="-", data="-")
    return {
        f.name: Param(f.name, getattr(defaults, f.name), str(f.type))
        for f in fields(RunConfig)
        if f.name not in skip
    }


def coerce(param: Param, raw: str) -> Any:
    """Turn ``raw`` into the type of ``param``'s default; explain what was expected if not."""
    default = param.default
    try:
        if isinstance(default, bool):
            return _boolean(raw)
        if isinstance(default, (tuple, list)):
            return _sequence(default, raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, str):
            return raw
        return _literal(raw)
    except ValueError:
        raise InvalidParameterError(
            f"--set {param.name}={shown(raw, quote=False)}: expected {param.type_name} like "
            f"{_example(default)} "
            f"(default {shown(default)})."
        ) from None


def _boolean(raw: str) -> bool:
    word = raw.lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(raw)


def _sequence(default: tuple | list, raw: str) -> tuple:
    items = [part.strip() for part in raw.strip("()[] ").split(",") if part.strip()]
    if default and not items:  # hidden= would silently build a network with no hidden layer
        raise ValueError(raw)
    kind = type(default[0]) if default else _literal_type(items)
    if kind is bool:
        return tuple(_boolean(i) for i in items)
    return tuple(kind(i) for i in items)


def _literal_type(items: list[str]) -> type:
    for kind in (int, float):
        try:
            [kind(i) for i in items]
            return kind
        except ValueError:
            continue
    return str


def _literal(raw: str) -> Any:
    if raw.lower() in ("none", "null"):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _example(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (tuple, list)):
        return ",".join(str(v) for v in default) or "1,2"
    return repr(default)


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PARAM_TABLES = ("model_params", "data_params", "preset_params")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read and check an experiment file; keys are RunConfig fields.

    Raises:
        InvalidParameterError: unreadable file, bad TOML, unknown key or wrong type.
    """
    path = Path(path)
    values = read_toml(path, "Config file")
    _check_keys(path, values)
    return values


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read a TOML file (a byte-order mark is fine), naming it as ``what`` in errors.

    Raises:
        InvalidParameterError: the file is missing, unreadable or not TOML.
    """
    path = Path(path)
    try:
        text = _bounded_text(path, what)
        _check_nesting(path, what, text)
        return tomllib.loads(text)
    except FileNotFoundError:
        raise InvalidParameterError(f"{what} {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"Cannot read {what.lower()} {path}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterError(f"{what} {path} is not valid TOML: {exc}.") from None


# An experiment file is a few lines; these bounds keep a hostile one from taking memory, time
# (tomllib takes quadratic time over a long dotted key) or the stack (it recurses per level).
MAX_TOML_BYTES = 1 << 20
MAX_TOML_DEPTH = 64  # nested arrays / inline tables, and parts of one dotted key
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}.=,\n]',
    re.S,
)


def _bounded_text(path: Path, what: str) -> str:
    """The file's text, if it is a regular file of at most MAX_TOML_BYTES (a FIFO or a device
    would be read forever)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise InvalidParameterError(f"{what} {path} is not a regular file; give a TOML file.")
    if info.st_size > MAX_TOML_BYTES:
        raise InvalidParameterError(
            f"{what} {path} is {info.st_size:,} bytes; experiment files are read up to "
            f"{MAX_TOML_BYTES:,} bytes (1 MiB). Keep only the settings it needs."
        )
    return path.read_text(encoding="utf-8-sig")


def _check_nesting(path: Path, what: str, text: str) -> None:
    """Refuse nesting deeper than MAX_TOML_DEPTH before tomllib parses (strings and comments
    skipped, so brackets and dots inside them do not count)."""
    depth = dots = 0
    line = 1
    for match in _TOML_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth, dots = depth + 1, 0
        elif token in "]}":
            depth, dots = max(0, depth - 1), 0
        elif token == ".":
            dots += 1
        elif token in "=,\n":
            dots = 0
        line += token.count("\n")
        if depth > MAX_TOML_DEPTH or dots >= MAX_TOML_DEPTH:
            what_nests = "brackets or braces" if depth > MAX_TOML_DEPTH else "a dotted key"
            raise InvalidParameterError(
                f"{what} {path}, line {line}: {what_nests} nested more than {MAX_TOML_DEPTH} "
                "levels deep; experiment files are read up to that depth. Flatten it."
            )


def _check_keys(path: Path, values: dict[str, Any]) -> None:
    known = {f.name: f for f in fields(RunConfig)}
    defaults = RunConfig(model="-", data="-")
    for key, value in values.items():
        if key not in known:
            listing = ", ".join(known)
            raise InvalidParameterError(
                f"Config file {path}: unknown key {shown(key)}.{did_you_mean(key, known)} "
                f"Valid keys: {listing}."
            )
        if key in PARAM_TABLES:
            if not isinstance(value, dict):
                raise InvalidParameterError(
                    f"Config file {path}: {key} must be a table like [{key}]; received "
                    f"{shown(value)}."
                )
            continue
        _check_type(path, key, value, getattr(defaults, key))


def _check_type(path: Path, key: str, value: Any, default: Any) -> None:
    if default is None or value is None:
        return
    expected = type(default)
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise InvalidParameterError(
            f"Config file {path}: {key} must be {expected.__name__} (default {shown(default)}); "
            f"received {shown(value)}."
        )


def merge(file_values: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """Flags given on the command line win over the file; parameter tables merge per key."""
    merged = dict(file_values)
    for key, value in flags.items():
        if key in PARAM_TABLES:
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged
