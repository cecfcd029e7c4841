"""Threshold values: the check's documented defaults, overridden per site in config.yaml."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from osiris.catalog.loader import Catalog
from osiris.catalog.model import Check
from osiris.errors import InputError


def validate_overrides(
    catalog: Catalog, overrides: Mapping[str, Mapping[str, Any]], config_path: Path
) -> None:
    """Every override names a known check and threshold, with a value of the default's type."""
    for check_id, values in overrides.items():
        field = f"thresholds.{check_id}"
        if check_id not in catalog.checks:
            raise InputError(f"unknown check id '{check_id}'", file=config_path, field=field)
        declared = catalog.checks[check_id].spec.thresholds
        for name, value in values.items():
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise InputError(
                    f"'{check_id}' has no threshold '{name}' (it has: {known})",
                    file=config_path,
                    field=f"{field}.{name}",
                )
            if not same_kind(declared[name].default, value):
                raise InputError(
                    f"must be like the default {declared[name].default!r}, got {value!r}",
                    file=config_path,
                    field=f"{field}.{name}",
                )


def same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def resolver(overrides: Mapping[str, Mapping[str, Any]]) -> Callable[[Check], dict[str, Any]]:
    """A function giving each check its effective thresholds."""

    def thresholds_for(check: Check) -> dict[str, Any]:
        return {**check.default_thresholds(), **overrides.get(check.id, {})}

    return thresholds_for
