"""L3 through real `osiris heal` runs on this machine: a check whose probe cannot decide
(error) or finds drift no L1 rule covers is escalated; a real SMTP server (aiosmtpd,
STARTTLS + AUTH) and a real HTTP webhook receiver get the notices. Then
`osiris escalations list|ack|resolve`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.notify_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_TOKEN,
    WebhookReceiver,
    free_port,
    self_signed,
    smtp_server,
    webhook_receiver,
)

GUIDANCE = "Start the backup by hand (`systemctl start restic-backup`), then check its log."


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "probe-state.json"


@pytest.fixture
def site(osiris, tmp_path: Path, state_file: Path) -> Callable[..., dict[str, str]]:
    """A site whose catalog holds one critical check reading ``state_file`` (missing:
    the probe prints no JSON, so the check is `error`; {"state": "bad"}: `fail`) and no
    runbook; returns a function writing the escalation config and giving the env."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    check = {
        "id": "lnx_l3_demo",
        "title": "Backups ran recently",
        "description": "A check written by the L3 test.",
        "platform": "linux",
        "severity": "critical",
        "probe": {"context": "test", "script": f"cat {state_file} 2>/dev/null || echo nope"},
        "facts": {"state": {"type": "string"}},
        "evaluate": [
            {
                "id": "bad",
                "status": "fail",
                "when": {"fact": "state", "eq": "bad"},
                "reason": "state is bad",
            },
            {"id": "fine", "status": "pass", "reason": "fine"},
        ],
        "references": {"hipaa": ["164.308(a)(7)(ii)(A)"]},
        "guidance": GUIDANCE,
    }
    (catalog / "lnx_l3_demo.yaml").write_text(yaml.safe_dump(check))
    playbooks = tmp_path / "playbooks"
    (playbooks / "linux").mkdir(parents=True)
    (playbooks / "windows").mkdir()
    assert osiris("init", "--site-id", "clinic-a").returncode == 0

    def configure(escalation: dict[str, Any], hook: WebhookReceiver | None) -> dict[str, str]:
        path = tmp_path / "home" / "config.yaml"
        config = yaml.safe_load(path.read_text())
        config["escalation"] = escalation
        path.write_text(yaml.safe_dump(config))
        env = {
            "OSIRIS_CATALOG": str(catalog),
            "OSIRIS_PLAYBOOKS": str(playbooks),
            "OSIRIS_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        if hook is not None:
            env["OSIRIS_WEBHOOK_OPS"] = hook.url()
        return env

    return configure


def email(port: int, ca_file: Path) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": SMTP_USER,
        "from": "osiris@clinic.example",
        "to": ["msp@example.net"],
        "ca_file": str(ca_file),
    }


def heal(osiris, env: dict[str, str]) -> dict[str, Any]:
    result = osiris("heal", "--yes", "--json", env=env)
    assert result.returncode == 1, result.stderr  # drift remains: it went to a person
    assert SMTP_PASSWORD not in result.stdout + result.stderr
    assert WEBHOOK_TOKEN not in result.stdout + result.stderr
    return json.loads(result.stdout)


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "home" / "osiris.db") as conn:
        return conn.execute(sql).fetchall()


def database_text(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "home" / "osiris.db") as conn:
        return "\n".join(conn.iterdump())


def test_a_heal_tells_people_once_per_category(
    osiris, site, state_file: Path, tmp_path: Path
) -> None:
    with smtp_server(tmp_path) as smtp, webhook_receiver() as hook:
        env = site({"email": email(smtp.port, smtp.ca_file), "webhooks": [{"name": "ops"}]}, hook)
        first = heal(osiris, env)  # no state file: the check cannot decide
        (step,) = first["plan"]
        host = step["host"]
        assert (step["status"], step["decision"]) == ("error", "escalate")
        assert first["notices"]["sent"] == [1] and first["notices"]["failed"] == []
        (mail,) = smtp.received
        assert (mail.tls, mail.login, mail.rcpt_tos) == (True, SMTP_USER, ["msp@example.net"])
        message = mail.message
        assert message["Subject"] == f"[osiris P1] clinic-a: {host} lnx_l3_demo (check_error)"
        body = message.get_content()
        assert f"Host:       {host}" in body and "Check:      lnx_l3_demo" in body
        assert GUIDANCE in body and "osiris escalations ack 1 --by NAME" in body
        assert SMTP_PASSWORD.encode() not in mail.content
        (hit,) = hook.hits
        assert (hit.json["host"], hit.json["check_id"], hit.json["priority"]) == (
            host,
            "lnx_l3_demo",
            "P1",
        )
        assert (hit.json["category"], hit.json["guidance"]) == ("check_error", GUIDANCE)

        second = heal(osiris, env)  # the same escalation within the window: nothing sent
        assert second["escalations"] == [
            {"escalation": 1, "decision": "occurrence", "notice": None}
        ]
        assert len(smtp.received) == 1 and len(hook.hits) == 1

        state_file.write_text('{"state": "bad"}')  # now drift that no L1 rule covers
        third = heal(osiris, env)
        assert third["escalations"] == [{"escalation": 2, "decision": "new", "notice": 2}]
        assert [m.message["Subject"].split()[-1] for m in smtp.received] == [
            "(check_error)",
            "(no_rule)",
        ]
        assert [h.json["category"] for h in hook.hits] == ["check_error", "no_rule"]
    assert rows(tmp_path, "SELECT id, category, occurrences, state FROM escalations") == [
        (1, "check_error", 2, "open"),
        (2, "no_rule", 1, "open"),
    ]
    assert rows(tmp_path, "SELECT channel, ok FROM notice_attempts ORDER BY id") == [
        ("email", 1),
        ("webhook:ops", 1),
        ("email", 1),
        ("webhook:ops", 1),
    ]
    text = database_text(tmp_path)
    assert SMTP_PASSWORD not in text and WEBHOOK_TOKEN not in text


def test_a_dead_smtp_server_is_recorded_and_the_next_heal_sends(
    osiris, site, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here yet
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    ca_file, _ = self_signed(ca_dir)
    env = site({"email": email(port, ca_file)}, None)
    first = heal(osiris, env)
    (failure,) = first["notices"]["failed"]
    assert (failure["notice"], failure["channel"]) == (1, "email")
    assert "refused" in failure["error"].lower()
    assert rows(tmp_path, "SELECT state FROM escalation_notices") == [("pending",)]
    with smtp_server(ca_dir, port=port) as smtp:
        second = heal(osiris, env)
    assert second["notices"] == {"sent": [1], "failed": [], "held": []}
    (mail,) = smtp.received  # the first heal's notice; the second heal's was a repeat
    assert "(check_error)" in mail.message["Subject"]
    assert rows(tmp_path, "SELECT channel, ok FROM notice_attempts ORDER BY id") == [
        ("email", 0),
        ("email", 1),
    ]
    assert rows(tmp_path, "SELECT state FROM escalation_notices") == [("sent",)]


def test_list_ack_resolve(osiris, site, tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        env = site({"webhooks": [{"name": "ops", "format": "slack"}]}, hook)
        dry = osiris("heal", "--dry-run", "--json", env=env)
        assert dry.returncode == 1
        assert rows(tmp_path, "SELECT count(*) FROM escalations") == [
            (0,)
        ]  # a dry run tells nobody
        heal(osiris, env)
        assert len(hook.hits) == 1 and "blocks" in hook.hits[0].json

        listed = osiris("escalations", "list", "--json")
        (row,) = json.loads(listed.stdout)
        assert (row["id"], row["category"], row["priority"], row["state"]) == (
            1,
            "check_error",
            "P1",
            "open",
        )
        assert row["guidance"] == GUIDANCE and row["incident_state"] == "escalated"
        assert [n["state"] for n in row["notices"]] == ["sent"]
        table = osiris("escalations", "list", env={"COLUMNS": "200"})
        assert "check_error" in table.stdout and "lnx_l3_demo" in table.stdout

        acked = osiris("escalations", "ack", "1", "--by", "Dr Who")
        assert acked.returncode == 0 and "acknowledged by Dr Who" in acked.stdout
        assert rows(tmp_path, "SELECT state, acknowledged_by FROM escalations") == [
            ("acknowledged", "Dr Who")
        ]
        again = osiris("escalations", "ack", "1", "--by", "Dr Who")
        assert again.returncode == 2
        assert again.stderr == "osiris: error: escalation 1 is acknowledged, not open\n"

        resolved = osiris("escalations", "resolve", "1", "--by", "Amy", "--note", "restarted")
        assert resolved.returncode == 0
        assert rows(tmp_path, "SELECT state, resolved_by, resolution_note FROM escalations") == [
            ("resolved", "Amy", "restarted")
        ]
        assert json.loads(osiris("escalations", "list", "--json").stdout) == []
        (done,) = json.loads(osiris("escalations", "list", "--state", "resolved", "--json").stdout)
        assert (done["id"], done["acknowledged_by"], done["resolved_by"]) == (1, "Dr Who", "Amy")
        missing = osiris("escalations", "resolve", "7", "--by", "Amy")
        assert missing.returncode == 2 and missing.stderr == "osiris: error: no escalation 7\n"

        # it is still broken: the next heal opens a new escalation and tells people again
        after = heal(osiris, env)
        assert after["escalations"] == [{"escalation": 2, "decision": "new", "notice": 2}]
        assert len(hook.hits) == 2


NOOP_RUNBOOK = [
    {
        "name": "linux_test_noop",
        "hosts": "all",
        "gather_facts": False,
        "vars": {
            "osiris_runbook": {
                "id": "linux_test_noop",
                "description": "claims to fix the demo check, changes nothing",
                "fixes": ["lnx_l3_demo"],
                "platform": "linux",
                "disruptive": False,
                "timeout": 60,
                "touches": ["files"],
                "hipaa": ["164.308(a)(7)(ii)(A)"],
            }
        },
        "tasks": [{"name": "nothing", "ansible.builtin.command": "true", "changed_when": False}],
    }
]


def test_the_last_failed_attempt_is_escalated_at_once(
    osiris, site, state_file: Path, tmp_path: Path
) -> None:
    """A rule allowing one attempt, a runbook that does not fix: the action's failure
    (measured by the re-run check) is told in the same heal; the next heal's plan
    escalates the same key and sends nothing more."""
    state_file.write_text('{"state": "bad"}')
    (tmp_path / "playbooks" / "linux" / "linux_test_noop.yml").write_text(
        yaml.safe_dump(NOOP_RUNBOOK, sort_keys=False)
    )
    (tmp_path / "home" / "rules").mkdir()
    rule = {
        "id": "test_noop",
        "description": "a test rule",
        "checks": ["lnx_l3_demo"],
        "runbook": "linux_test_noop",
        "cooldown": "1s",
        "max_retries": 1,
    }
    (tmp_path / "home" / "rules" / "test.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    with webhook_receiver() as hook:
        env = site({"webhooks": [{"name": "ops"}]}, hook)
        first = heal(osiris, env)
        (action,) = first["actions"]
        assert (action["runbook_id"], action["outcome"], action["post_status"]) == (
            "linux_test_noop",
            "failed",
            "fail",
        )
        (hit,) = hook.hits
        assert (hit.json["category"], hit.json["priority"]) == ("retries_exhausted", "P1")
        assert "linux_test_noop ran; the check is still fail" in hit.json["summary"]
        assert "rule test_noop allows 1 attempt(s)" in hit.json["summary"]
        second = heal(osiris, env)
        assert second["actions"] == []
        assert second["plan"][0]["decision"] == "escalate"
        assert second["escalations"] == [
            {"escalation": 1, "decision": "occurrence", "notice": None}
        ]
        assert len(hook.hits) == 1


def test_a_heal_limited_to_other_checks_leaves_an_escalation_alone(
    osiris, site, tmp_path: Path
) -> None:
    """An incident of a check outside `--checks` is still in the plan; it is escalated
    by the heals that cover its check (they know its severity and guidance)."""
    other = yaml.safe_load((tmp_path / "catalog" / "lnx_l3_demo.yaml").read_text())
    other.update(id="lnx_l3_other", probe={"context": "test", "script": 'echo \'{"state": "ok"}\''})
    (tmp_path / "catalog" / "lnx_l3_other.yaml").write_text(yaml.safe_dump(other))
    with webhook_receiver() as hook:
        env = site({"webhooks": [{"name": "ops"}]}, hook)
        heal(osiris, env)  # the demo check errors: escalated
        limited = osiris("heal", "--checks", "lnx_l3_other", "--yes", "--json", env=env)
        assert limited.returncode == 1, limited.stderr
        document = json.loads(limited.stdout)
        assert [s["check_id"] for s in document["plan"]] == ["lnx_l3_demo"]
        assert document["escalations"] == []
        assert len(hook.hits) == 1
    assert rows(tmp_path, "SELECT check_id, occurrences FROM escalations") == [("lnx_l3_demo", 1)]
