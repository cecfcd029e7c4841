"""YAML loading that remembers where each value came from.

Validation errors must name the file, line and field (issue: bad input). PyYAML's
composed node tree knows the line of every node; we keep a map from the path of each
value (a tuple of keys and indexes) to its 1-based line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from osiris.errors import InputError

PathKey = tuple[str | int, ...]


class _SafeLineLoader(yaml.SafeLoader):
    """SafeLoader; no arbitrary tags, no Python objects."""


def load_yaml(path: Path) -> tuple[Any, dict[PathKey, int]]:
    """Parse ``path`` and return (data, lines by path). Raises InputError on bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from exc
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path | str) -> tuple[Any, dict[PathKey, int]]:
    """Parse YAML text; ``path`` is only used to locate errors."""
    try:
        node = yaml.compose(text, Loader=_SafeLineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML: {problem}", file=path, line=line) from exc
    if node is None:
        return None, {}
    lines: dict[PathKey, int] = {}
    _index(node, (), lines)
    loader = _SafeLineLoader(text)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=path) from exc
    finally:
        loader.dispose()
    return data, lines


def _index(node: yaml.Node, key: PathKey, lines: dict[PathKey, int]) -> None:
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k_node, v_node in node.value:
            name = k_node.value if isinstance(k_node, yaml.ScalarNode) else str(k_node)
            _index(v_node, (*key, name), lines)
            # a field's error points at its key, not where a block value starts
            lines[(*key, name)] = k_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*key, i), lines)


def line_of(lines: dict[PathKey, int], loc: PathKey) -> int | None:
    """The line of ``loc``, or of its nearest ancestor that has one."""
    for end in range(len(loc), -1, -1):
        found = lines.get(tuple(loc[:end]))
        if found is not None:
            return found
    return None


def input_error_from(
    exc: ValidationError, path: Path | str, lines: dict[PathKey, int]
) -> InputError:
    """Turn pydantic's first error into an InputError naming file, line and field."""
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic puts union member and tagged-union names in loc; keep only real keys
    data_loc = tuple(p for p in loc if isinstance(p, int) or (p and not p[0].isupper()))
    field = ".".join(str(p) for p in data_loc) or None
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return InputError(message, file=path, line=line_of(lines, data_loc), field=field)
