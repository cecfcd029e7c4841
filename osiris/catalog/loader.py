"""Load and validate the catalog directory. Any error names file, line and field."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from osiris.catalog.model import Check, CheckSpec, RuleError, compile_check
from osiris.errors import InputError
from osiris.frameworks import load_registry
from osiris.model import Platform
from osiris.shipped import shipped_dir
from osiris.yamlfile import input_error_from, line_of, load_yaml


def default_catalog_dir() -> Path:
    """``$OSIRIS_CATALOG``, else ``checks/`` beside the package (checkout or installed)."""
    override = os.environ.get("OSIRIS_CATALOG")
    if override:
        return Path(override)
    return shipped_dir("checks")


def load_check(path: Path) -> Check:
    """Load one check file."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError("a check file must hold a mapping", file=path, line=1)
    try:
        spec = CheckSpec.model_validate(data)
    except ValidationError as exc:
        raise input_error_from(exc, path, lines) from exc
    # contract 2: a citation the registry does not know is a load error, not a typo
    load_registry().validate_references(spec.references.by_framework(), file=path, lines=lines)
    if path.stem != spec.id:
        raise InputError(
            f"file name must match the id '{spec.id}'",
            file=path,
            line=lines.get(("id",)),
            field="id",
        )
    try:
        return compile_check(spec, str(path))
    except RuleError as exc:
        loc = ("evaluate", exc.index, exc.field)
        raise InputError(
            str(exc), file=path, line=line_of(lines, loc), field=f"evaluate.{exc.index}.{exc.field}"
        ) from exc


@dataclass(frozen=True)
class Catalog:
    """All checks, by id, in a stable order."""

    checks: Mapping[str, Check]

    def __len__(self) -> int:
        return len(self.checks)

    def __iter__(self) -> Any:
        return iter(self.checks.values())

    def get(self, check_id: str) -> Check:
        try:
            return self.checks[check_id]
        except KeyError:
            raise InputError(f"unknown check id '{check_id}'") from None

    def for_platform(self, platform: Platform) -> list[Check]:
        return [c for c in self.checks.values() if c.platform is platform]

    def select(
        self,
        *,
        ids: Iterable[str] | None = None,
        tags: Iterable[str] | None = None,
        framework: str | None = None,
    ) -> Catalog:
        """The sub-catalog matching all the given filters. Unknown ids are an error."""
        chosen = dict(self.checks)
        if ids:
            wanted = [self.get(i).id for i in ids]
            chosen = {i: chosen[i] for i in wanted}
        if tags:
            tagset = set(tags)
            chosen = {i: c for i, c in chosen.items() if tagset & set(c.spec.tags)}
        if framework:
            frameworks = set(self.checks and next(iter(self)).spec.references.by_framework())
            if framework not in frameworks:
                raise InputError(
                    f"unknown framework '{framework}' (one of {', '.join(sorted(frameworks))})"
                )
            chosen = {
                i: c for i, c in chosen.items() if c.spec.references.by_framework()[framework]
            }
        return Catalog(chosen)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load every ``*.yaml`` in ``directory`` (default: the shipped catalog)."""
    directory = directory or default_catalog_dir()
    checks: dict[str, Check] = {}
    for path in sorted(directory.glob("*.yaml")):
        check = load_check(path)
        if check.id in checks:
            raise InputError(f"duplicate check id '{check.id}'", file=path, field="id")
        checks[check.id] = check
    if not checks:
        raise InputError("no checks found", file=directory)
    return Catalog(checks)
