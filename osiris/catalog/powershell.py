"""Parsing PowerShell with tree-sitter-powershell, to catch syntax errors before Windows.

tree-sitter-powershell is a test/lint dependency (`pip install osiris[test]`); without
it :func:`parser_available` is False and callers say so rather than pass silently.
"""

from __future__ import annotations

from functools import cache
from typing import Any


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
    """None when ``script`` parses cleanly, else 'line N: ...' for the first error."""
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
    return f"line {node.start_point.row + 1}: {kind} near {text[:80]!r}"


def _first_error(node: Any) -> Any:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing or child.type == "ERROR":
            found = _first_error(child)
            if found is not None:
                return found
    return None
