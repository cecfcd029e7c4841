"""The one registry of framework control ids (docs/architecture.md, contract 2).

Every citation a check, mapping or report makes is looked up here; an id the registry
does not know is an error naming file, line and field, never a silent no-op::

    registry = load_registry()
    registry.get("hipaa", "164.312(a)(2)(iv)").title   # 'Encryption and decryption'
    registry.knows("nist_800_53", "AC-6(2)")            # True
    registry.unknown("soc2", ["CC6.1", "CC6.9"])         # ['CC6.9']
    registry.validate_references(spec.references.by_framework(), file=path, lines=lines)
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from osiris.errors import InputError, OsirisError
from osiris.frameworks.loader import FrameworkFile, load_framework_file
from osiris.frameworks.model import Control, Framework, FrameworkId
from osiris.yamlfile import PathKey, line_of

DATA_DIR = Path(__file__).resolve().parent / "data"


class UnknownFrameworkError(OsirisError, KeyError):
    """A framework key that is not one of :class:`FrameworkId`."""

    def __init__(self, framework: str) -> None:
        super().__init__(framework)
        self.framework = framework

    def __str__(self) -> str:
        known = ", ".join(f.value for f in FrameworkId)
        return f"unknown framework '{self.framework}' (known: {known})"


class UnknownControlError(OsirisError, KeyError):
    """A control id the registry does not know for that framework."""

    def __init__(self, framework: FrameworkId, control_id: str, hint: str | None = None) -> None:
        super().__init__(control_id)
        self.framework = framework
        self.control_id = control_id
        self.hint = hint

    def __str__(self) -> str:
        hint = f" (did you mean '{self.hint}'?)" if self.hint else ""
        return f"unknown {self.framework.value} control id '{self.control_id}'{hint}"


class Registry:
    """All controls of all frameworks, immutable once built. Build with :func:`load_registry`.

    Every method taking a ``framework`` accepts a :class:`FrameworkId` or its string
    value and raises :class:`UnknownFrameworkError` for anything else.
    """

    def __init__(self, files: Iterable[FrameworkFile]) -> None:
        frameworks: dict[FrameworkId, Framework] = {}
        controls: dict[FrameworkId, dict[str, Control]] = {}
        for f in files:
            if f.framework.id in frameworks:
                raise ValueError(f"framework '{f.framework.id}' given twice")
            frameworks[f.framework.id] = f.framework
            controls[f.framework.id] = {c.id: c for c in f.controls}
        self._frameworks = MappingProxyType(frameworks)
        self._controls = controls

    @property
    def frameworks(self) -> Mapping[FrameworkId, Framework]:
        """The loaded frameworks, by id, in :class:`FrameworkId` order."""
        return self._frameworks

    def framework(self, framework: FrameworkId | str) -> Framework:
        return self._frameworks[self._fid(framework)]

    def controls(self, framework: FrameworkId | str) -> tuple[Control, ...]:
        """Every control of ``framework``, in data-file order."""
        return tuple(self._controls[self._fid(framework)].values())

    def get(self, framework: FrameworkId | str, control_id: str) -> Control:
        """The control, or :class:`UnknownControlError` (a KeyError) with a close-match hint."""
        fid = self._fid(framework)
        try:
            return self._controls[fid][control_id]
        except KeyError:
            raise UnknownControlError(fid, control_id, self._hint(fid, control_id)) from None

    def knows(self, framework: FrameworkId | str, control_id: str) -> bool:
        return control_id in self._controls[self._fid(framework)]

    def unknown(self, framework: FrameworkId | str, ids: Iterable[str]) -> list[str]:
        """The ids the registry does not know, in the order given, each once."""
        known = self._controls[self._fid(framework)]
        return list(dict.fromkeys(i for i in ids if i not in known))

    def validate_references(
        self,
        references: Mapping[str, Sequence[str]],
        *,
        file: str | Path,
        lines: Mapping[PathKey, int] | None = None,
        base: PathKey = ("references",),
    ) -> None:
        """Raise :class:`InputError` for the first citation the registry does not know.

        ``references`` maps a framework key to the ids cited (``References.by_framework()``);
        ``lines`` is the map from ``osiris.yamlfile.load_yaml`` and ``base`` where the
        mapping sits in the file, so the error names file, line and field, e.g.
        ``checks/x.yaml:14: references.nist_800_53.1: unknown nist_800_53 control id 'AU-8(1)'``.
        """
        for framework, ids in references.items():
            loc: PathKey = (*base, framework)
            try:
                fid = self._fid(framework)
            except UnknownFrameworkError as exc:
                line = line_of(dict(lines), loc) if lines else None
                raise InputError(
                    str(exc), file=file, line=line, field=".".join(map(str, loc))
                ) from None
            for index, control_id in enumerate(ids):
                if control_id in self._controls[fid]:
                    continue
                err = UnknownControlError(fid, control_id, self._hint(fid, control_id))
                item = (*loc, index)
                line = line_of(dict(lines), item) if lines else None
                raise InputError(str(err), file=file, line=line, field=".".join(map(str, item)))

    def _fid(self, framework: FrameworkId | str) -> FrameworkId:
        try:
            fid = FrameworkId(framework)
        except ValueError:
            raise UnknownFrameworkError(str(framework)) from None
        if fid not in self._frameworks:
            raise UnknownFrameworkError(str(framework))
        return fid

    def _hint(self, fid: FrameworkId, control_id: str) -> str | None:
        folded = {c.casefold(): c for c in self._controls[fid]}
        if control_id.casefold() in folded:
            return folded[control_id.casefold()]
        close = difflib.get_close_matches(control_id, self._controls[fid], n=1, cutoff=0.85)
        return close[0] if close else None


def load_registry(data_dir: Path | None = None) -> Registry:
    """The registry of all six frameworks.

    Without ``data_dir`` the packaged data is loaded once per process and cached. With
    ``data_dir`` (tests, tools) that directory is read afresh; it must hold exactly one
    ``<framework>.yaml`` per :class:`FrameworkId`. Raises :class:`InputError` naming
    file and line for a missing, extra or malformed file.
    """
    if data_dir is None:
        return _packaged_registry()
    return _read_registry(data_dir)


@functools.cache
def _packaged_registry() -> Registry:
    return _read_registry(DATA_DIR)


def _read_registry(data_dir: Path) -> Registry:
    expected = {f"{fid.value}.yaml": fid for fid in FrameworkId}
    for extra in sorted(data_dir.glob("*.yaml")):
        if extra.name not in expected:
            known = ", ".join(expected)
            raise InputError(f"not a framework data file (expected one of: {known})", file=extra)
    files = []
    for name, fid in expected.items():
        path = data_dir / name
        if not path.is_file():
            raise InputError("framework data file is missing", file=path)
        files.append(load_framework_file(path, fid))
    return Registry(files)
