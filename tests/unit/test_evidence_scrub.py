"""The PHI scrubber: what it replaces, what it keeps, and that it is a fixed point."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osiris.privacy import PLACEHOLDERS, scrub, scrub_text

REPLACED = [
    ("SSN 123-45-6789 on file", "SSN [ssn] on file"),
    ("ssn=123 45 6789", "ssn=[ssn]"),
    ("SSN: 123456789", "SSN: [ssn]"),
    ("social security number 123456789.", "social security number [ssn]."),
    ("call (555) 123-4567 now", "call [phone] now"),
    ("555-123-4567", "[phone]"),
    ("555.123.4567", "[phone]"),
    ("+1 555 123 4567", "[phone]"),
    ("1-800-555-1234", "[phone]"),
    ("tel:+15551234567", "tel:[phone]"),
    ("mail jane.doe+x@clinic.example.org today", "mail [email] today"),
    ("DOB: 01/02/1980", "DOB: [dob]"),
    ("d.o.b. 1-2-80", "d.o.b. [dob]"),
    ("date of birth 1980-01-02", "date of birth [dob]"),
    ("Birthdate: March 3, 1975", "Birthdate: [dob]"),
    ("born on 3 Mar 1975 in Ohio", "born on [dob] in Ohio"),
    ("a@b.co and 123-45-6789", "[email] and [ssn]"),
    ("123-45-6789(555) 123-4567", "[ssn][phone]"),  # adjacent: both go
]

KEPT = [
    "every file system is under 80% full",
    "ip 192.168.100.120 port 5985",
    "patched 2024-05-01, rebooted 2024-05-02",  # dates without a birth label stay
    "epoch 1700000000",  # ten bare digits are not a phone number
    "build 10.0.19045.1234",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "root@server (no domain)",
    "4 of 123456 inodes",
    "KB5034441 installed",
]


@pytest.mark.parametrize(("text", "expected"), REPLACED)
def test_phi_is_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_host_data_is_kept_byte_for_byte(text: str) -> None:
    assert scrub_text(text) == text


def test_structures_are_scrubbed_deeply_and_never_modified() -> None:
    facts = {
        "users": [{"name": "jdoe", "mail": "jdoe@clinic.example"}],
        "note": ("call 555-123-4567",),
        "patient_dob": "1980-01-02",
        "dateOfBirth": 19800102,
        "SSN": "123456789",
        "class_n": 5,  # a key ending in letters that spell 'ssn' is not an SSN key
        "count": 3,
        "nested": {"dob": None},
    }
    before = repr(facts)
    assert scrub(facts) == {
        "users": [{"name": "jdoe", "mail": "[email]"}],
        "note": ["call [phone]"],
        "patient_dob": "[dob]",
        "dateOfBirth": "[dob]",
        "SSN": "[ssn]",
        "class_n": 5,
        "count": 3,
        "nested": {"dob": None},
    }
    assert repr(facts) == before


def test_colliding_keys_get_suffixes_whatever_the_input_order() -> None:
    one = scrub({"z@x.example": 1, "a@x.example": 2, "[email]": 0})
    other = scrub({"a@x.example": 2, "[email]": 0, "z@x.example": 1})
    assert one == other == {"[email]": 0, "[email]#2": 2, "[email]#3": 1}


_FRAGMENTS = st.sampled_from(
    [
        "123-45-6789", "555-123-4567", "(555) 123-4567", "+15551234567", "a@b.example",
        "DOB: 1/2/80", "SSN 123456789", "date of birth 1980-01-02", "[ssn]", "[email]#2",
        " ", "-", ".", "@", "1", "12", "123", "/", "x", "SSN", "DOB", "\n", "é", "+1 ",
    ]
)  # fmt: skip
_TEXT = st.lists(_FRAGMENTS | st.text(max_size=6), max_size=12).map("".join)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_scrubbing_text_twice_is_scrubbing_it_once(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_scrubbing_values_is_deterministic_and_idempotent(value: object) -> None:
    once = scrub(value)
    assert scrub(value) == once
    assert scrub(once) == once


def test_placeholders_cannot_be_mistaken_for_phi() -> None:
    for placeholder in PLACEHOLDERS.values():
        assert scrub_text(placeholder) == placeholder
