"""Read and validate one framework data file (``data/<framework>.yaml``).

File shape::

    framework: {id: hipaa, name: "...", version: "...", source: "...", titles: true}
    controls:
      "164.312(a)(2)(iv)": {title: "Encryption and decryption", kind: addressable}
      "AC-6(2)": "Non-privileged Access for Nonsecurity Functions"
      "4.3": null

A control's value is its title (a string), a mapping ``{title, kind}`` for frameworks
that classify controls (see ``model.KINDS``), or null when ``titles`` is false. Ids are
quoted strings, unique, and match the framework's pattern (``model.ID_PATTERNS``).

The happy path parses with libyaml and no line tracking (fast); only when something is
wrong is the file re-read with ``osiris.yamlfile`` to say on which line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from osiris.errors import InputError, OsirisError
from osiris.frameworks.model import ID_PATTERNS, KINDS, Control, Framework, FrameworkId
from osiris.yamlfile import PathKey, line_of, load_yaml_text

_HEADER_KEYS = ("id", "name", "version", "source", "titles")
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class FrameworkFile:
    """What one data file declares: the framework and its controls, in file order."""

    framework: Framework
    controls: tuple[Control, ...]


class _Problem(OsirisError):
    """A validation failure at a location (path of keys) in the file."""

    def __init__(self, message: str, loc: PathKey) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc


class _DuplicateKey(OsirisError, yaml.YAMLError):
    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.first_line = first_line


class _UniqueKeyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loading (libyaml when available) that refuses duplicate mapping keys.

    PyYAML keeps the last of two equal keys silently; for a registry of ids that would
    hide a copy-paste error, so a repeated key is an error naming both lines.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value, line, seen[key_node.value])
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


def load_framework_file(path: Path, expected: FrameworkId | None = None) -> FrameworkFile:
    """Load and validate one data file; ``expected`` defaults to the file's stem.

    Raises :class:`InputError` naming file, line and field for anything malformed: bad
    YAML, a duplicate id, an id that does not match the framework's pattern, a title
    missing (or present for an ids-only framework), a wrong or unknown header key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except _DuplicateKey as exc:
        _, lines = load_yaml_text(text, path)
        loc = next((k for k, n in lines.items() if k and k[-1] == exc.key and n == exc.line), ())
        raise InputError(
            f"duplicate key '{exc.key}' (first on line {exc.first_line})",
            file=path,
            line=exc.line,
            field=".".join(str(p) for p in loc) or exc.key,
        ) from None
    except yaml.YAMLError as exc:
        load_yaml_text(text, path)  # raises InputError with the line
        raise InputError(f"invalid YAML: {exc}", file=path) from exc  # pragma: no cover
    try:
        return _validate(data, path, expected)
    except _Problem as problem:
        _, lines = load_yaml_text(text, path)
        raise InputError(
            problem.message,
            file=path,
            line=line_of(lines, problem.loc),
            field=".".join(str(p) for p in problem.loc) or None,
        ) from None


def _validate(data: Any, path: Path, expected: FrameworkId | None) -> FrameworkFile:
    if not isinstance(data, dict):
        raise _Problem("a framework file must hold a mapping with 'framework' and 'controls'", ())
    for key in data:
        if key not in ("framework", "controls"):
            raise _Problem(f"unknown key '{key}' (expected 'framework' and 'controls')", (key,))
    framework = _header(data.get("framework"), path, expected)
    controls = data.get("controls")
    if not isinstance(controls, dict) or not controls:
        raise _Problem("'controls' must be a non-empty mapping of id to title", ("controls",))
    return FrameworkFile(
        framework,
        tuple(_control(framework, cid, value) for cid, value in controls.items()),
    )


def _header(header: Any, path: Path, expected: FrameworkId | None) -> Framework:
    loc: PathKey = ("framework",)
    if not isinstance(header, dict):
        raise _Problem(f"'framework' must be a mapping with keys {', '.join(_HEADER_KEYS)}", loc)
    for key in header:
        if key not in _HEADER_KEYS:
            raise _Problem(f"unknown key '{key}'", (*loc, key))
    for key in _HEADER_KEYS:
        if key not in header:
            raise _Problem(f"missing key '{key}'", loc)
    raw_id = header["id"]
    try:
        fid = FrameworkId(raw_id)
    except ValueError:
        known = ", ".join(f.value for f in FrameworkId)
        raise _Problem(f"unknown framework '{raw_id}' (known: {known})", (*loc, "id")) from None
    want = expected if expected is not None else path.stem
    if fid != want:
        raise _Problem(f"framework id '{fid}' does not match '{want}'", (*loc, "id"))
    for key in ("name", "version", "source"):
        if not isinstance(header[key], str) or not header[key].strip():
            raise _Problem(f"'{key}' must be a non-empty string", (*loc, key))
    if not isinstance(header["titles"], bool):
        raise _Problem("'titles' must be true or false", (*loc, "titles"))
    return Framework(fid, header["name"], header["version"], header["source"], header["titles"])


def _control(framework: Framework, cid: Any, value: Any) -> Control:
    loc: PathKey = ("controls", str(cid))
    if not isinstance(cid, str):
        raise _Problem(f"control id {cid!r} must be a quoted string", loc)
    if not ID_PATTERNS[framework.id].fullmatch(cid):
        raise _Problem(f"'{cid}' is not a {framework.id} control id", loc)
    if not framework.has_titles:
        if value is not None:
            raise _Problem(f"{framework.id} ships ids only: the value must be null", loc)
        return Control(framework.id, cid, None)
    kind = None
    if isinstance(value, dict):
        for key in value:
            if key not in ("title", "kind"):
                raise _Problem(f"unknown key '{key}' (expected 'title' and 'kind')", (*loc, key))
        kind = value.get("kind")
        allowed = KINDS.get(framework.id, frozenset())
        if kind is not None and kind not in allowed:
            expected = ", ".join(sorted(allowed)) or "none for this framework"
            raise _Problem(f"kind {kind!r} is not one of: {expected}", (*loc, "kind"))
        value = value.get("title")
    if not isinstance(value, str) or not value.strip():
        raise _Problem(f"'{cid}' needs a title (a non-empty string)", loc)
    return Control(framework.id, cid, value, kind)
