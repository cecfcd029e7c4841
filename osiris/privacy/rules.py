"""The PHI scrubber's rules, one frozen set per version.

Evidence is scrubbed, then signed, and ``osiris verify`` scrubs the stored rows again
to compare them with what was signed (:mod:`osiris.evidence.results_match`). So a rule
set that has signed evidence never changes: better rules are a new version appended to
:data:`RULES`, every signed predicate names the version it was scrubbed with (field
``phi_scrubber``; bundles without it were signed with version 1), and the verifier
uses the rules the bundle names.

Version 1: SSNs, US phone numbers, e-mail addresses; dates of birth and SSNs after a
label or under a key naming them.

Version 2 adds:

- MRNs after a label (``MRN``, ``medical record number``, ``patient id``, ``chart no.``
  ...) and under keys such as ``mrn``, ``medical_record_number``, ``patient_id``;
- US street addresses: a house number, one to four capitalised words and a street
  suffix (``St``, ``Street``, ``Ave``, ``Road``, ``Blvd``, ``Lane``, ``Dr``, ``Ct``,
  ``Way`` ...), with a unit (``Suite 200``, ``Apt 4B``, ``#12``) and a ``, City, ST
  12345`` tail when present; keys such as ``street_address``, ``home_address``;
- person names: capitalised words after a label (``patient:``, ``full name =``,
  ``"last_name": "...``), the GECOS field of an ``/etc/passwd`` line, and any value
  under keys such as ``full_name``, ``first_name``, ``patient``, ``display_name``,
  ``gecos``. Account names are not person names, and evidence needs them: keys such as
  ``name`` (Windows accounts and services), ``user``, ``owner``, ``members`` are kept;
- phone numbers under keys such as ``phone``, ``telephone``;
- labels written as keys in JSON, YAML or INI text (``"dob": "1980-01-02"``,
  ``patient_id=12345``), and, under a PHI key, a list's scalar items.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class PhiKind(StrEnum):
    """What a placeholder stands for."""

    SSN = "ssn"
    PHONE = "phone"
    EMAIL = "email"
    DOB = "dob"
    MRN = "mrn"
    NAME = "name"
    ADDRESS = "address"

    @property
    def placeholder(self) -> str:
        return f"[{self.value}]"


PLACEHOLDERS = {kind.value: kind.placeholder for kind in PhiKind}


@dataclass(frozen=True)
class Pass:
    """One pass over text: ``pattern`` finds PHI and ``replace`` says what a match
    becomes; ``maybe`` tests a necessary condition for any match, so text without it
    skips the pass cheaply."""

    maybe: Callable[[str], object]
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]


def _any_word(*words: str) -> Callable[[str], bool]:
    """Whether a text holds one of ``words`` in any case: str.lower and ``in`` are
    several times quicker than a case-insensitive regular expression."""

    def maybe(text: str) -> bool:
        folded = text.lower()
        return any(word in folded for word in words)

    return maybe


@dataclass(frozen=True)
class Rules:
    """One version of the scrubber's rules.

    Text goes through ``passes`` in order, again and again until none replaces
    anything; ``key_kinds`` maps a mapping key's normalised last words to the kind of
    PHI its values are; ``kinds_cover_lists``: under such a key, a list's scalar items
    become the placeholder too (else the list is scrubbed as text)."""

    version: int
    passes: tuple[Pass, ...]
    key_kinds: Mapping[str, PhiKind]
    kinds_cover_lists: bool


# --- version 1 (frozen: it signed evidence) -------------------------------------------
# Later versions reuse these pieces: change one and version 1 changes too (a test pins
# each version's rules). New rules take new names.

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 01/02/1980, 1-2-80
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"  # 1980-01-02
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # January 2, 1980
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}})"  # 2 Jan 1980
)
_EMAIL = (
    r"(?P<email>(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,}(?![\w-]))"
)
_SSN = r"(?P<ssn>(?<![\w-])\d{3}(?P<ssn_sep>[- ])\d{2}(?P=ssn_sep)\d{4}(?![\w-]))"
_PHONE = (
    r"(?P<phone>(?<![\w.+-])(?:(?:\+?1[-. ]?)?(?:\(\d{3}\)[-. ]?\d{3}[-. ]\d{4}"
    r"|\d{3}(?P<phone_sep>[-. ])\d{3}(?P=phone_sep)\d{4})|\+1\d{10})(?![\w-]|\.\d))"
)

_V1_PATTERN = re.compile(
    # e-mail first: an address may hold digit runs that look like anything else
    _EMAIL
    # labelled values keep their label and lose the value
    + r"|(?P<dob_label>\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)"
    r"(?:\s*[:=#-]\s*|\s+))(?P<dob_value>" + _DATE + r")(?![\w/-])"
    r"|(?P<ssn_label>\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|num|\#))?)"
    r"(?:\s*[:=#-]\s*|\s+))(?P<ssn_value>\d{9})(?![\w-])"
    r"|" + _SSN + r"|" + _PHONE,
    re.IGNORECASE,
)
# an @, three digits in a row, or digits around a date separator
_V1_MAYBE = re.compile(r"@|\d{3}|\d[/.-]\d")


def _replace_v1(match: re.Match[str]) -> str:
    if match.group("email"):
        return PhiKind.EMAIL.placeholder
    if match.group("dob_value"):
        return match.group("dob_label") + PhiKind.DOB.placeholder
    if match.group("ssn_value"):
        return match.group("ssn_label") + PhiKind.SSN.placeholder
    if match.group("ssn"):
        return PhiKind.SSN.placeholder
    return PhiKind.PHONE.placeholder


_V1_KEYS = {
    "dob": PhiKind.DOB,
    "birthdate": PhiKind.DOB,
    "dateofbirth": PhiKind.DOB,
    "birthday": PhiKind.DOB,
    "ssn": PhiKind.SSN,
    "socialsecuritynumber": PhiKind.SSN,
    "socialsecurityno": PhiKind.SSN,
}

V1 = Rules(
    1, (Pass(_V1_MAYBE.search, _V1_PATTERN, _replace_v1),), _V1_KEYS, kinds_cover_lists=False
)

# --- version 2 ------------------------------------------------------------------------

_START = r"(?<![A-Za-z0-9])"  # a label starts a word; "_" may precede it (patient_dob)
_W = r"[\s_-]*"  # between a label's words: "date of birth", "date_of_birth", "dateOfBirth"
# a label's separator, with the quotes of a JSON, YAML or INI key and value around it
_SEP = r"""["']?(?:\s*[:=#-]\s*|\s+)["']?"""
_NAME_SEP = r"""["']?[ \t]*[:=][ \t]*["']?"""  # names only after ":" or "="

_DOB_LABEL = rf"(?:dob|d\.o\.b\.?|date{_W}of{_W}birth|birth{_W}date|born(?:[\s_-]+on)?)"
_SSN_LABEL = rf"(?:ssn|social{_W}security(?:{_W}(?:number|no\.?|num|\#))?)"
_MRN_LABEL = (
    rf"(?:mrn|medical{_W}record(?:{_W}(?:number|no\.?|num|id|\#))?"
    rf"|(?:patient|chart){_W}(?:number|no\.?|num|identifier|id|(?=\#)))"
)
_NAME_LABEL = (
    rf"(?:(?:patient|full|first|last|middle|given|family|display|legal|maiden|real"
    rf"|contact|guarantor){_W}name|patient|surname|gecos)"
)
# a capitalised word of a name (Latin-1 capitals: José, Zoë), never a word that starts
# another label, nor a placeholder-like literal
_NAME_WORD = (
    r"(?!(?:mrn|ssn|dob|none|null|true|false|yes|no|unknown|n/a)(?![^\W\d_]))"
    r"(?-i:[A-ZÀ-ÖØ-Þ])(?:[^\W\d_]|['.-])*"
)
_NAME = rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}(?![\w/\\@:])"
# an /etc/passwd line (user:x:uid:gid:GECOS:home:shell): what comes before GECOS, GECOS
_ACCOUNT_LINE = r"(?:^|(?<=\n))[a-z_][a-z0-9_.-]*\$?:[^:\n]*:\d+:\d+:"
_GECOS = r"(?!\[name\]:)[^:\n]+(?=:/[^:\n]*:(?:/[^:\n]*)?(?:\r?\n|$))"  # home, shell

_SUFFIXES = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln",
    "Drive", "Dr", "Court", "Ct", "Way", "Place", "Pl", "Terrace", "Ter", "Circle", "Cir",
    "Parkway", "Pkwy", "Highway", "Hwy", "Square", "Sq", "Trail", "Trl", "Plaza", "Plz",
)  # fmt: skip
_SUFFIX = "(?-i:" + "|".join(s for w in _SUFFIXES for s in (w, w.upper())) + r")\.?(?![\w-])"
_STREET_WORD = r"(?:(?-i:[A-Z](?:[A-Za-z'-]*[A-Za-z])?\.?)|\d{1,3}(?:st|nd|rd|th))"
_DIRECTION = r"[ \t]+(?-i:[NS][EW]?|[EW])\.?(?![\w-])"  # 1600 Pennsylvania Ave NW
_UNIT = (
    r"(?:,?[ \t]+(?:suite|ste|apt|apartment|unit|room|rm|floor|fl|bldg|building)\.?"
    r"[ \t]*\#?[ \t]*|,?[ \t]*\#[ \t]*)[A-Za-z0-9][A-Za-z0-9-]{0,5}(?![\w-])"
)
_CITY_STATE_ZIP = (
    r",?[ \t]+(?-i:[A-Z][A-Za-z'.-]*(?:[ \t]+[A-Z][A-Za-z'.-]*){0,2}),?[ \t]+(?-i:[A-Z]{2})"
    r"[ \t]+\d{5}(?:-\d{4})?(?![\w-])"
)
_ADDRESS = (
    r"(?P<address>(?<![\w.,/:#-])\d{1,6}(?-i:[A-Z])?[ \t]+"
    rf"(?:{_STREET_WORD}[ \t]+){{1,4}}{_SUFFIX}(?:{_DIRECTION})?(?:{_UNIT})?"
    rf"(?:{_CITY_STATE_ZIP})?)"
)

_V2_GROUPS = {
    "email": PhiKind.EMAIL,
    "ssn": PhiKind.SSN,
    "phone": PhiKind.PHONE,
    "address": PhiKind.ADDRESS,
    "dob_value": PhiKind.DOB,
    "ssn_value": PhiKind.SSN,
    "mrn_value": PhiKind.MRN,
    "name_value": PhiKind.NAME,
    "gecos_value": PhiKind.NAME,
}


_JSON_KEY_END = re.compile(r'"\s*:\s*$')  # a JSON key, then a bare value (a number)


def _replace_v2(match: re.Match[str]) -> str:
    # the whole branch's group closes last, so it is lastgroup (a labelled branch's
    # value group closes after its label)
    group = match.lastgroup or ""
    placeholder = _V2_GROUPS[group].placeholder
    if not group.endswith("_value"):
        return placeholder
    label = match.group(group[: -len("value")] + "label")
    if _JSON_KEY_END.search(label):  # "patient_id": 991 -> "patient_id": "[mrn]"
        return f'{label}"{placeholder}"'
    return label + placeholder


# One pass per family of rules, each behind its own cheap condition: most host text
# passes version 1's (three digits in a row) and none of the others, and one big
# alternation would try every branch at every position of it.
_V2_PASSES = (
    Pass(  # e-mail first: an address may hold digit runs that look like anything else
        _V1_MAYBE.search,
        re.compile(
            "|".join(
                (
                    _EMAIL,
                    rf"(?P<dob_label>{_START}{_DOB_LABEL}{_SEP})(?P<dob_value>{_DATE})(?![\w/-])",
                    rf"(?P<ssn_label>{_START}{_SSN_LABEL}{_SEP})(?P<ssn_value>\d{{9}})(?![\w-])",
                    _SSN,
                    _PHONE,
                )
            ),
            re.IGNORECASE,
        ),
        _replace_v2,
    ),
    Pass(
        _any_word("mrn", "record", "patient", "chart"),
        re.compile(
            rf"(?P<mrn_label>{_START}{_MRN_LABEL}{_SEP})"
            r"(?P<mrn_value>(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]*)(?![\w-])",
            re.IGNORECASE,
        ),
        _replace_v2,
    ),
    Pass(
        _any_word("name", "patient", "gecos"),
        re.compile(
            rf"(?P<name_label>{_START}{_NAME_LABEL}{_NAME_SEP})(?P<name_value>{_NAME})",
            re.IGNORECASE,
        ),
        _replace_v2,
    ),
    Pass(
        re.compile(r":\d+:\d+:").search,
        re.compile(rf"(?P<gecos_label>{_ACCOUNT_LINE})(?P<gecos_value>{_GECOS})", re.IGNORECASE),
        _replace_v2,
    ),
    Pass(  # a house number before a capitalised word or an ordinal
        re.compile(r"\d[A-Z]?[ \t]+[A-Z0-9]").search,
        re.compile(_ADDRESS, re.IGNORECASE),
        _replace_v2,
    ),
)


def _keys(kind: PhiKind, words: str) -> dict[str, PhiKind]:
    return dict.fromkeys(words.split(), kind)


_V2_KEYS = {
    **_V1_KEYS,
    **_keys(
        PhiKind.MRN,
        "mrn medicalrecord medicalrecordnumber medicalrecordno medicalrecordnum"
        " medicalrecordid patientid patientidentifier patientnumber patientno chartnumber"
        " chartno chartid",
    ),
    **_keys(
        PhiKind.NAME,
        "patient patientname fullname firstname middlename lastname givenname familyname"
        " surname maidenname displayname legalname realname contactname guarantorname gecos",
    ),
    **_keys(
        PhiKind.ADDRESS,
        "street streetaddress homeaddress mailingaddress postaladdress patientaddress"
        " residentialaddress addressline addressline1 addressline2 addressline3",
    ),
    **_keys(
        PhiKind.PHONE,
        "phone phonenumber telephone telephonenumber homephone workphone cellphone"
        " mobilephone faxnumber",
    ),
}

V2 = Rules(2, _V2_PASSES, _V2_KEYS, kinds_cover_lists=True)

RULES: tuple[Rules, ...] = (V1, V2)
"""Every version, oldest first; the last is what new evidence and the L2 planner use."""
