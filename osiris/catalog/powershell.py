"""Checking PowerShell with tree-sitter-powershell before it ever reaches Windows.

Two questions: does a script parse, and does it keep to Windows PowerShell 5.1 (what
every supported Windows ships)? tree-sitter-powershell is a test/lint dependency
(`pip install osiris[test]`); without it :func:`parser_available` is False and callers
say so rather than pass silently.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Windows PowerShell 5.1 has neither pipeline chains (&&, ||) nor these parameters; the
# grammar accepts them (it rejects ??, ?. and ?: on its own).
PS7_PARAMETERS = frozenset({"-parallel", "-ashashtable", "-skipcertificatecheck", "-asbytestream"})


def parser_available() -> bool:
    try:
        _parser()
    except ImportError:
        return False
    return True


@cache
def _parser() -> Any:
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_powershell.language()))


def parse_problem(script: str) -> str | None:
    """None when ``script`` parses cleanly, else where and what the first error is."""
    source = script.encode("utf-8")
    tree = _parser().parse(source)
    if not tree.root_node.has_error:
        return None
    node = _first_error(tree.root_node)
    if node is None:
        return "the parse tree has an error that no node reports"
    lines = source.splitlines() or [b""]
    text = lines[min(node.start_point.row, len(lines) - 1)].decode("utf-8", "replace").strip()
    kind = f"missing {node.type}" if node.is_missing else "syntax error"
    return (
        f"{kind} at line {node.start_point.row + 1}, column {node.start_point.column + 1}: {text!r}"
    )


def powershell7_constructs(script: str) -> list[str]:
    """PowerShell 7 syntax in ``script`` that Windows PowerShell 5.1 cannot run."""
    return _ps7(_parser().parse(script.encode("utf-8")).root_node)


def _ps7(node: Any) -> list[str]:
    found = []
    if node.type == "pipeline_chain_tail":
        found.append(f"line {node.start_point.row + 1}: pipeline chain operator")
    text = (node.text or b"").decode()
    if node.type == "command_parameter" and text.lower() in PS7_PARAMETERS:
        found.append(f"line {node.start_point.row + 1}: {text}")
    for child in node.children:
        found += _ps7(child)
    return found


def _first_error(node: Any) -> Any:
    """The first ERROR or MISSING node under ``node``, in source order."""
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing or child.type == "ERROR":
            found = _first_error(child)
            if found is not None:
                return found
    return None
