"""One error tree: every exception class Osiris defines derives from OsirisError.

Walks every module of the package (as the catalog test walks every check), so an
exception added later outside the tree fails here, not as a traceback in front of a user.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import osiris
from osiris.errors import OsirisError
from osiris.interrupts import Interrupted

# a KeyboardInterrupt on purpose: no `except Exception` may swallow SIGINT or SIGTERM
OUTSIDE_ON_PURPOSE = (Interrupted,)


def defined_exceptions() -> list[type[BaseException]]:
    found = []
    for module in pkgutil.walk_packages(osiris.__path__, "osiris."):
        if ".kit." in module.name or module.name.endswith(".__main__"):
            continue  # the auditor kit's verify.py stands alone; __main__ runs the CLI
        loaded = importlib.import_module(module.name)
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.name:
                found.append(value)
    return found


def test_every_exception_osiris_defines_is_an_osiris_error() -> None:
    found = defined_exceptions()
    assert len(found) > 15  # the walk reached the whole package
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in found
        if not issubclass(cls, OsirisError) and not issubclass(cls, OUTSIDE_ON_PURPOSE)
    ]
    assert outside == []


def test_rebased_errors_are_still_caught_where_they_were() -> None:
    """Callers catch some as ValueError, KeyError or RuntimeError: those bases stay."""
    from osiris.evidence.dsse import EnvelopeError
    from osiris.evidence.log import LogError
    from osiris.frameworks.registry import UnknownFrameworkError

    assert issubclass(EnvelopeError, ValueError) and issubclass(EnvelopeError, OsirisError)
    assert issubclass(UnknownFrameworkError, KeyError)
    assert issubclass(LogError, RuntimeError)
