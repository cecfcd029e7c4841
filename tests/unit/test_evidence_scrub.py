"""The PHI scrubber: what it replaces, what it keeps, and that it is a fixed point.

Examples pin each rule; property tests (hypothesis) generate PHI of every kind in
surrounding text or known fields and assert none survives, generate host data without
PHI (config and sysctl lines, versions, paths, timestamps, IP addresses) and assert it
is kept byte for byte, and check idempotence and key-collision determinism for every
version of the rules.
"""

from __future__ import annotations

import hashlib
import string
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osiris.catalog import load_catalog
from osiris.catalog.model import FactSpec
from osiris.privacy import PLACEHOLDERS, SCRUBBER_VERSION, scrub, scrub_text, scrubber
from osiris.privacy.rules import RULES, Rules

V1 = scrubber(1)
VERSIONS = [scrubber(v) for v in range(1, SCRUBBER_VERSION + 1)]

# what version 1 already replaced, and still does in every version
REPLACED_V1 = [
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
# what the current rules add
REPLACED = [
    *REPLACED_V1,
    ("MRN: 00123456", "MRN: [mrn]"),
    ("mrn#A12345 seen", "mrn#[mrn] seen"),
    ("Medical Record Number 1234567", "Medical Record Number [mrn]"),
    ("patient id: 42", "patient id: [mrn]"),
    ("chart no. 12345, chart #678", "chart no. [mrn], chart #[mrn]"),
    ('{"mrn": "A0012345", "patient_id": 991}', '{"mrn": "[mrn]", "patient_id": "[mrn]"}'),
    ("12 Main Street", "[address]"),
    ("seen at 400 Oak Ave Suite 2 today", "seen at [address] today"),
    ("123 MAIN ST APT 4B", "[address]"),
    ("1600 Pennsylvania Ave NW, Washington, DC 20500", "[address]"),
    ("500 5th Ave, #12", "[address]"),
    ("12B N. Elm St., Springfield, IL 62701-1234 (home)", "[address] (home)"),
    ("patient: Jane Doe", "patient: [name]"),
    ("Patient Name: Jane Q. O'Brien-Smith, MRN 123", "Patient Name: [name], MRN [mrn]"),
    ('{"full_name": "José Álvarez", "lastName": "Doe"}',
     '{"full_name": "[name]", "lastName": "[name]"}'),
    ("DisplayName = Jane Doe", "DisplayName = [name]"),
    ("gecos: Jane Doe,Room 4,555-123-4567,,", "gecos: [name],Room 4,[phone],,"),
    (
        "jdoe:x:1000:1000:Jane Doe,,,:/home/jdoe:/bin/bash\nsvc:x:998:998::/srv:",
        "jdoe:x:1000:1000:[name]:/home/jdoe:/bin/bash\nsvc:x:998:998::/srv:",
    ),
    ('{"dob": "1980-01-02", "date_of_birth": "1/2/80"}',
     '{"dob": "[dob]", "date_of_birth": "[dob]"}'),
    ("patient_ssn=123456789", "patient_ssn=[ssn]"),
]  # fmt: skip

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
    # account and service names are not person names
    "accounts idle for more than 90 days: jdoe, alice",
    "UID 0: root; no empty passwords; sudo asks for a password",
    "Name: Administrator",
    "username: Alice",
    "hostname: Server1",
    # labels without PHI after them, and look-alikes
    "patient: None",
    "patient: N/A",
    "full name: C:\\Users\\x",
    "patient portal: Enabled",
    "patient number of visits unknown",
    "Windows 10 Pro",
    "Windows Server 2022 Datacenter 10.0.20348",
    "openssl 3.0.11-1~deb12u2 amd64",
    "net.ipv4.conf.all.accept_redirects = 0",
    "MaxAuthTries 4",
    "fe80::1:2:3:4:5 and 2001:db8::8a2e:370:7334",
    "May 1 10:00:00 ws1 sshd[123]: Accepted publickey for jdoe from 10.0.0.5 port 52344 ssh2",
    "17 * * * * root cd / && run-parts --report /etc/cron.hourly",
    "/var/lib/dpkg/info/libssl3:amd64.list",
]


@pytest.mark.parametrize(("text", "expected"), REPLACED)
def test_phi_is_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_host_data_is_kept_byte_for_byte(text: str) -> None:
    assert scrub_text(text) == text


# `osiris verify` scrubs stored rows with the rules a bundle names, so rules that have
# signed evidence never change: better ones are a new version (osiris.privacy.rules)
FROZEN = {
    1: "8139ab73ea34c087c0bec404aa7685e3ec1b2f5bb3ae53ea9fb27489205319c2",
    2: "0f365561e752cecbf91dd4cea25cd7a96c4c4b5cf36d33382e6f0f242a41a513",
}


def _fingerprint(rules: Rules) -> str:
    patterns = [(p.pattern.pattern, p.pattern.flags) for p in rules.passes]
    text = repr((patterns, sorted(rules.key_kinds.items()), rules.kinds_cover_lists))
    return hashlib.sha256(text.encode()).hexdigest()


def test_released_rules_never_change() -> None:
    assert [r.version for r in RULES] == list(range(1, SCRUBBER_VERSION + 1))
    for rules in RULES:
        assert _fingerprint(rules) == FROZEN.get(rules.version), f"version {rules.version}"


@pytest.mark.parametrize(("text", "expected"), REPLACED_V1)
def test_version_1_rules_are_frozen(text: str, expected: str) -> None:
    assert V1.text(text) == expected


@pytest.mark.parametrize(("text", "expected"), REPLACED[len(REPLACED_V1) :])
def test_version_1_rules_keep_what_later_rules_replace(text: str, expected: str) -> None:
    # evidence signed under version 1 holds these values, and must still verify
    assert V1.text(text) != expected


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


def test_values_under_known_keys_are_replaced_and_account_names_kept() -> None:
    facts = {
        "accounts": [{"user": "jdoe", "idle_days": 120}],  # lnx_inactive_accounts
        "uid0_accounts": ["root", "toor"],  # lnx_privileged_accounts
        "shadow_owner": "root",  # a file owner is an account
        "members": [{"Name": "CLINIC\\alice", "ObjectClass": "User"}],  # win_admin_accounts
        "services": [{"Name": "Spooler", "Status": "Running"}],
        "gecos": "Jane Doe,Room 4,,",
        "FullName": "Jane Doe",
        "patient": {"mrn": 1234567, "first_name": "Jane", "family-name": "Doe"},
        "MedicalRecordNumber": "A0012345",
        "PatientID": 42,
        "street_address": "12 main street",
        "addressLine2": "Apt 4",
        "ip_address": "10.0.0.5",  # an address that is not a street address
        "phone": "5551234567",  # no separators: only the key tells
        "given_names": ["Jane", "Ann"],  # a list under a PHI key: every item
        "display_name": ["Jane Doe", None, {"note": "x"}],
    }
    assert scrub(facts) == {
        "accounts": [{"user": "jdoe", "idle_days": 120}],
        "uid0_accounts": ["root", "toor"],
        "shadow_owner": "root",
        "members": [{"Name": "CLINIC\\alice", "ObjectClass": "User"}],
        "services": [{"Name": "Spooler", "Status": "Running"}],
        "gecos": "[name]",
        "FullName": "[name]",
        "patient": {"mrn": "[mrn]", "first_name": "[name]", "family-name": "[name]"},
        "MedicalRecordNumber": "[mrn]",
        "PatientID": "[mrn]",
        "street_address": "[address]",
        "addressLine2": "[address]",
        "ip_address": "10.0.0.5",
        "phone": "[phone]",
        "given_names": ["Jane", "Ann"],  # "names" is not a key the rules know
        "display_name": ["[name]", None, {"note": "x"}],
    }


def _sample(facts: dict[str, FactSpec]) -> dict[str, Any]:
    """Facts of the catalog's shape, every string a plausible capitalised value."""
    out: dict[str, Any] = {}
    for key, spec in facts.items():
        if isinstance(spec.items, dict):
            out[key] = [_sample(spec.items)]
        else:
            out[key] = {"string": "Jane Admin", "list": ["Jane Admin"]}.get(spec.type.value, 7)
    return out


def test_no_fact_of_the_catalog_is_taken_for_phi() -> None:
    # evidence needs every fact as the host reported it (account names included): no
    # fact key of the shipped catalog may name a kind of PHI
    for check in load_catalog():
        facts = _sample(check.spec.facts)
        assert scrub(facts) == facts, check.id


def test_colliding_keys_get_suffixes_whatever_the_input_order() -> None:
    one = scrub({"z@x.example": 1, "a@x.example": 2, "[email]": 0})
    other = scrub({"a@x.example": 2, "[email]": 0, "z@x.example": 1})
    assert one == other == {"[email]": 0, "[email]#2": 2, "[email]#3": 1}


def test_placeholders_cannot_be_mistaken_for_phi() -> None:
    for placeholder in PLACEHOLDERS.values():
        for version in VERSIONS:
            assert version.text(placeholder) == placeholder
        assert scrub_text(f"patient: {placeholder}") == f"patient: {placeholder}"


# --- properties ---------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "123-45-6789", "555-123-4567", "(555) 123-4567", "+15551234567", "a@b.example",
        "DOB: 1/2/80", "SSN 123456789", "date of birth 1980-01-02", "[ssn]", "[email]#2",
        " ", "-", ".", "@", "1", "12", "123", "/", "x", "SSN", "DOB", "\n", "é", "+1 ",
        "MRN: ", "A0012", "patient: ", "Jane", " Doe", "12 ", "Main ", "St", " Suite 4",
        ", Springfield, IL 62701", "gecos=", '"', ":", "x:1000:1000:", ":/home/x:/bin/sh",
        "[name]", "[address]", "[mrn]", "patient_id", "#",
    ]
)  # fmt: skip
_TEXT = st.lists(_FRAGMENTS | st.text(max_size=6), max_size=12).map("".join)
_KEYS = _TEXT | st.sampled_from(["dob", "full_name", "patient", "mrn", "Phone", "[phone]"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("rules", VERSIONS, ids=lambda r: f"v{r.version}")
@settings(max_examples=400, deadline=None)
@given(text=_TEXT)
def test_scrubbing_text_twice_is_scrubbing_it_once(rules, text: str) -> None:
    once = rules.text(text)
    assert rules.text(once) == once


@pytest.mark.parametrize("rules", VERSIONS, ids=lambda r: f"v{r.version}")
@settings(max_examples=300, deadline=None)
@given(value=_VALUES)
def test_scrubbing_values_is_deterministic_and_idempotent(rules, value: object) -> None:
    once = rules.value(value)
    assert rules.value(value) == once
    assert rules.value(once) == once


# PHI, generated
_WORDS = st.text(string.ascii_lowercase, min_size=1, max_size=8)
_CONTEXT = st.lists(_WORDS, max_size=4).map(" ".join)
_NOT_A_NAME = {"none", "null", "true", "false", "yes", "no", "unknown", "mrn", "ssn", "dob"}
_NAME_WORD = st.from_regex(r"[A-Z][a-z]{1,9}", fullmatch=True).filter(
    lambda w: w.lower() not in _NOT_A_NAME
)
_PERSON = st.lists(_NAME_WORD, min_size=1, max_size=3).map(" ".join)
_N = st.integers
_SSN = st.builds("{:03d}{sep}{:02d}{sep}{:04d}".format, _N(1, 899), _N(1, 99), _N(1, 9999),
                 sep=st.sampled_from("- "))  # fmt: skip
_PHONE = st.builds(
    lambda fmt, a, e, n: fmt.format(a, e, n),
    st.sampled_from(["{}-{}-{:04d}", "({}) {}-{:04d}", "{}.{}.{:04d}", "+1 {} {} {:04d}"]),
    _N(200, 999), _N(200, 999), _N(0, 9999),
)  # fmt: skip
_EMAIL = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9][a-z0-9._%+-]{0,10}", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["com", "org", "example", "health"]),
)
_MRN = st.tuples(
    st.sampled_from(["MRN", "MRN:", "mrn#", "Medical record number", "patient ID:", "Chart No.",
                     '"mrn": "', "patient_id="]),
    st.from_regex(r"[A-Z]{0,2}[0-9]{4,10}", fullmatch=True),
)  # fmt: skip
_DOB = st.tuples(
    st.sampled_from(["DOB:", "date of birth", "born on", "Birthdate:", '"date_of_birth": "']),
    st.builds(
        lambda day, fmt: day.strftime(fmt),
        st.dates(date(1900, 1, 1), date(2030, 12, 31)),
        st.sampled_from(["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b %Y", "%m-%d-%y"]),
    ),
)
_SUFFIX = st.sampled_from(["St", "Street", "Ave", "Avenue", "Road", "Rd", "Blvd", "Lane",
                           "Dr", "Drive", "Ct", "Court", "Way", "ST", "AVE"])  # fmt: skip
_ADDRESS = st.builds(
    "{} {} {}{}".format,
    _N(1, 99999),
    st.lists(_NAME_WORD | st.sampled_from(["5th", "N.", "West", "42nd"]), min_size=1,
             max_size=3).map(" ".join),
    _SUFFIX,
    st.sampled_from(["", " Suite 200", ", Apt 4B", " #12", " NW", ", Springfield, IL 62701"]),
)  # fmt: skip
_NAME_LABEL = st.sampled_from(["patient: ", "Patient Name: ", "full name = ", '"last_name": "',
                               "FirstName=", "gecos: ", "DisplayName : "])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(before=_CONTEXT, after=_CONTEXT, data=st.data())
def test_no_generated_phi_survives(before: str, after: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["ssn", "phone", "email", "mrn", "dob", "address", "name"]))
    placeholder = PLACEHOLDERS[kind]
    if kind in ("mrn", "dob", "name"):  # labelled: the label stays, the value goes
        if kind == "name":
            label, secret = data.draw(_NAME_LABEL), data.draw(_PERSON)
        else:
            label, secret = data.draw(_MRN if kind == "mrn" else _DOB)
            label += "" if label[-1] in ':#="' else " "
        phi, kept = label + secret, label + placeholder
    else:
        secret = phi = data.draw({"ssn": _SSN, "phone": _PHONE, "email": _EMAIL,
                                  "address": _ADDRESS}[kind])  # fmt: skip
        kept = placeholder
    scrubbed = scrub_text(" ".join(part for part in (before, phi, after) if part))
    assert secret not in scrubbed.replace(kept, placeholder)
    expected = " ".join(part for part in (before, kept, after) if part)
    if kind == "address":  # a unit after it ("apt x") goes with it
        expected = expected[: expected.index(placeholder) + len(placeholder)]
        assert scrubbed.startswith(expected)
    else:
        assert scrubbed == expected


_KNOWN_KEYS = st.sampled_from(
    [
        ("full_name", "name"), ("fullName", "name"), ("patient", "name"), ("gecos", "name"),
        ("FirstName", "name"), ("last-name", "name"), ("given_name", "name"),
        ("family_name", "name"), ("display_name", "name"), ("PatientName", "name"),
        ("mrn", "mrn"), ("medical_record_number", "mrn"), ("patient_id", "mrn"),
        ("chartNumber", "mrn"), ("street_address", "address"), ("homeAddress", "address"),
        ("dob", "dob"), ("birth_date", "dob"), ("SSN", "ssn"), ("phone_number", "phone"),
    ]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(key=_KNOWN_KEYS, value=_PERSON | _WORDS | st.integers(), prefix=st.sampled_from(["", "x_"]))
def test_nothing_under_a_known_key_survives(
    key: tuple[str, str], value: object, prefix: str
) -> None:
    name, kind = key
    facts = {f"{prefix}{name}": value, "user": "jdoe", "count": 3}
    assert scrub(facts) == {f"{prefix}{name}": PLACEHOLDERS[kind], "user": "jdoe", "count": 3}


@settings(max_examples=200, deadline=None)
@given(user=st.from_regex(r"[a-z_][a-z0-9_-]{0,11}", fullmatch=True), uid=_N(0, 65534),
       person=_PERSON, shell=st.sampled_from(["/bin/bash", "/usr/sbin/nologin", ""]))  # fmt: skip
def test_the_gecos_field_of_a_passwd_line_is_a_name(user, uid, person, shell) -> None:
    line = f"{user}:x:{uid}:{uid}:{person},Room 1,,:/home/{user}:{shell}"
    assert scrub_text(f"{line}\n{line}") == "\n".join(
        [f"{user}:x:{uid}:{uid}:[name]:/home/{user}:{shell}"] * 2
    )


# host data without PHI, generated
_LABEL_WORDS = ("mrn", "ssn", "dob", "patient", "chart", "record", "name", "gecos", "born",
                "birth", "social", "phone", "street")  # fmt: skip
_IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda w: not any(label in w for label in _LABEL_WORDS)
)
_CONFIG_KEY = st.sampled_from(
    ["PermitRootLogin", "MaxAuthTries", "ClientAliveInterval", "PasswordAuthentication",
     "Port", "X11Forwarding", "Ciphers", "TMOUT", "PASS_MAX_DAYS", "deny", "unlock_time"]
) | _IDENT  # fmt: skip
_PATH = st.lists(
    st.from_regex(r"[a-z][a-z0-9_-]{0,11}(\.[a-z]{1,4})?", fullmatch=True), min_size=1, max_size=5
).map(lambda parts: "/" + "/".join(parts))
_VERSION = st.builds(
    "{}.{}.{}{}".format, _N(0, 99), _N(0, 99), _N(0, 999),
    st.sampled_from(["", "-1", "-1~deb12u2", "+dfsg-3", ".19045", "-2ubuntu0.1"]),
)  # fmt: skip
_TIMESTAMP = st.builds(
    lambda moment, offset, sep: moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    .isoformat(sep=sep),
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
    _N(-720, 840),
    st.sampled_from(["T", " "]),
)  # fmt: skip
_CONFIG_LINE = st.one_of(
    st.builds("{} {}".format, _CONFIG_KEY, st.sampled_from(["yes", "no", "0", "600"]) | _PATH),
    st.builds("{}={}".format, _CONFIG_KEY, _N(-1, 10**9).map(str) | _IDENT),
    st.builds("{}: {}".format, _CONFIG_KEY, _VERSION | _PATH),
    st.builds(
        "{} = {}".format,
        st.lists(_IDENT, min_size=2, max_size=5).map(".".join),  # sysctl
        _N(0, 2**31).map(str),
    ),
    st.builds("{} {} amd64".format, _IDENT, _VERSION),  # a package and its version
    st.builds("patched {} from {}".format, _TIMESTAMP, st.ip_addresses().map(str)),
    _PATH,
    _TIMESTAMP,
)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(_CONFIG_LINE, min_size=1, max_size=6), sep=st.sampled_from(["\n", "; ", " "]))
def test_host_data_without_phi_is_kept_byte_for_byte(lines: list[str], sep: str) -> None:
    text = sep.join(lines)
    assert scrub_text(text) == text
    facts = dict(zip((f"k{i}" for i in range(len(lines))), lines, strict=True))
    assert scrub(facts) == facts


_COLLIDING = st.sampled_from(
    ["a@x.example", "z@y.example", "[email]", "[email]#2", "123-45-6789", "[ssn]",
     "MRN 12345", "MRN [mrn]", "patient: Jane", "patient: [name]", "count", "dob"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(_COLLIDING, min_size=1, max_size=8, unique=True), data=st.data())
def test_colliding_keys_are_deterministic_in_any_order(
    keys: list[str], data: st.DataObject
) -> None:
    items = [(key, i) for i, key in enumerate(keys)]
    shuffled = data.draw(st.permutations(items))
    for rules in VERSIONS:
        once = rules.value(dict(items))
        assert rules.value(dict(shuffled)) == once
        assert len(once) == len(items)  # no value lost to a collision
        assert rules.value(once) == once
