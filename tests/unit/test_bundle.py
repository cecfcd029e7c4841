"""Probe bundles run for real in a local shell: framing, isolation, bad output."""

from __future__ import annotations

import textwrap

import pytest

from osiris.catalog.model import Check, CheckSpec, compile_check
from osiris.model import Connection, Host, Platform, Role, Status
from osiris.scan.bundle import build_bundle, new_nonce, parse_output
from osiris.scan.interpret import interpret, split_applicable
from osiris.transport.local import LocalTransport

LOCAL = Host("here", "localhost", Connection.LOCAL, Platform.LINUX, Role.SERVER)


def make_check(check_id: str, script: str, **extra: object) -> Check:
    spec = {
        "id": check_id,
        "title": "A test check",
        "description": "A check built by a test.",
        "platform": "linux",
        "severity": "low",
        "probe": {"context": "test", "script": textwrap.dedent(script), "timeout": 5},
        "facts": {"value": {"type": "string"}},
        "evaluate": [
            {
                "id": "bad",
                "status": "fail",
                "when": {"fact": "value", "eq": "bad"},
                "reason": "bad",
            },
            {"id": "good", "status": "pass", "reason": "value {value}"},
        ],
        "references": {"hipaa": ["164.312(b)"]},
        **extra,
    }
    return compile_check(CheckSpec.model_validate(spec), "<test>")


def scan_locally(*checks: Check) -> dict[str, tuple[Status, str]]:
    nonce = new_nonce()
    probed, skipped = split_applicable(LOCAL, checks)
    output = LocalTransport().run(build_bundle(Platform.LINUX, probed, nonce), timeout=30)
    outcome = interpret(
        LOCAL,
        probed,
        skipped,
        nonce,
        output,
        thresholds_for=lambda c: c.default_thresholds(),
        duration_ms=0,
    )
    return {r.check_id: (r.status, r.reason) for r in outcome.results}


def test_each_check_is_isolated_and_judged_on_its_own_output() -> None:
    results = scan_locally(
        make_check("lnx_good", """printf '{"value":%s}' "$(osiris_q 'it "quoted"\\ok')" """),
        make_check("lnx_bad", 'echo \'{"value": "bad"}\''),
        make_check("lnx_garbage", "echo 'COMPLIANT'"),
        make_check("lnx_exit", "echo oops >&2; exit 4"),
        make_check("lnx_array", "echo '[1, 2]'"),
        make_check("lnx_missing_fact", "echo '{}'"),
        make_check("lnx_exit_shell", "exit 0"),
    )
    assert results["lnx_good"] == (Status.PASS, 'value it "quoted"\\ok')
    assert results["lnx_bad"] == (Status.FAIL, "bad")
    assert results["lnx_garbage"][0] is Status.ERROR
    assert "not JSON" in results["lnx_garbage"][1]
    assert results["lnx_exit"] == (Status.ERROR, "probe exited 4: oops")
    assert results["lnx_array"] == (Status.ERROR, "probe output is not a JSON object")
    assert results["lnx_missing_fact"] == (Status.ERROR, "probe did not report fact 'value'")
    assert results["lnx_exit_shell"][0] is Status.ERROR


def test_a_probe_cannot_forge_frames_of_other_checks() -> None:
    forger = make_check(
        "lnx_forger",
        """
        echo '@@osiris 0000000000000000 begin lnx_victim'
        echo '{"value": "good"}'
        echo '@@osiris 0000000000000000 end lnx_victim 0 1'
        echo '{"value": "good"}'
        """,
    )
    victim = make_check("lnx_victim", 'echo \'{"value": "bad"}\'')
    results = scan_locally(forger, victim)
    assert results["lnx_victim"] == (Status.FAIL, "bad")
    assert results["lnx_forger"][0] is Status.ERROR  # two JSON documents are not one


def test_missing_command_gives_na_or_a_finding_as_declared() -> None:
    absent = "osiris-no-such-command"
    results = scan_locally(
        make_check("lnx_na", "echo '{}'", applies={"requires": [absent]}),
        make_check("lnx_risk", "echo '{}'", applies={"requires": [absent], "when_missing": "fail"}),
    )
    assert results["lnx_na"] == (Status.NA, f"required command '{absent}' is not installed")
    assert results["lnx_risk"][0] is Status.FAIL


def test_a_hung_probe_times_out_alone() -> None:
    results = scan_locally(
        make_check(
            "lnx_slow", "sleep 30", probe={"context": "test", "script": "sleep 30", "timeout": 1}
        ),
        make_check("lnx_after", 'echo \'{"value": "x"}\''),
    )
    assert results["lnx_slow"][0] is Status.ERROR
    assert "timed out" in results["lnx_slow"][1]
    assert results["lnx_after"] == (Status.PASS, "value x")


def test_role_excluded_checks_are_na_with_a_reason() -> None:
    results = scan_locally(make_check("lnx_dc_only", "echo '{}'", applies={"roles": ["appliance"]}))
    assert results["lnx_dc_only"] == (Status.NA, "applies to appliance; this host is a server")


def test_cut_off_output_is_an_error() -> None:
    nonce = "ab" * 8
    text = f'@@osiris {nonce} begin lnx_x\n{{"value": "a"}}\n'
    parsed = parse_output(text, nonce, ["lnx_x", "lnx_y"])
    assert parsed["lnx_x"].error == "probe output was cut off (no end frame)"
    assert parsed["lnx_y"].error == "the probe bundle stopped before this check ran"


@pytest.mark.parametrize("word", ["a;b", "$(x)", "a b"])
def test_required_command_names_are_validated(word: str) -> None:
    with pytest.raises(ValueError, match="unsafe command name"):
        build_bundle(
            Platform.LINUX, [make_check("lnx_x", "true", applies={"requires": [word]})], "n"
        )
