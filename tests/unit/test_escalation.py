"""L3 escalation below the CLI: records and their states, dedup per (host, check,
category), the rate limit, delivery to a real SMTP server (aiosmtpd, STARTTLS + AUTH)
and a real HTTP webhook receiver, failures recorded and retried. Real SQLite throughout;
times are passed in, never waited for."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from osiris.catalog import load_catalog
from osiris.config import EscalationConfig
from osiris.errors import InputError
from osiris.heal.escalation import (
    Decision,
    deliver_pending,
    escalate,
    escalate_l2_declined,
    priority_for,
    records,
    request_for,
)
from osiris.heal.escalation.dedup import decide
from osiris.heal.store import Incident, get_incident
from osiris.model import EscalationCategory, EscalationState, Priority, Severity
from osiris.store import open_database
from tests.notify_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_TOKEN,
    free_port,
    smtp_server,
    webhook_receiver,
)

CATALOG = load_catalog()
BACKUP = CATALOG.get("lnx_backup_recency")  # critical, with guidance
ADMINS = CATALOG.get("lnx_admin_accounts")  # high, with guidance
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / "osiris.db", create=True)


def incident(db: sqlite_utils.Database, host: str, check_id: str, status: str = "fail") -> Incident:
    cursor = db.execute(
        "INSERT INTO incidents (host, check_id, state, status, reason, opened_at, updated_at)"
        " VALUES (?, ?, 'open', ?, 'newest backup is 9 days old', ?, ?)",
        [host, check_id, status, T0.isoformat(), T0.isoformat()],
    )
    found = get_incident(db, int(cursor.lastrowid or 0))
    assert found is not None
    return found


def config(**extra: object) -> EscalationConfig:
    return EscalationConfig.model_validate({"webhooks": [{"name": "ops"}], **extra})


def hooked(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OSIRIS_WEBHOOK_OPS", url)


def deliver(db: sqlite_utils.Database, cfg: EscalationConfig, now: datetime, **kw: object):
    return deliver_pending(db, cfg, now, site_id="clinic-a", secrets_path=None, **kw)  # type: ignore[arg-type]


# --- priorities and dedup decisions (pure) --------------------------------------------


def test_priority_follows_severity_and_a_lockout_is_always_p1() -> None:
    expected = {
        Severity.CRITICAL: Priority.P1,
        Severity.HIGH: Priority.P2,
        Severity.MEDIUM: Priority.P3,
        Severity.LOW: Priority.P4,
    }
    for severity, priority in expected.items():
        assert priority_for(severity, EscalationCategory.NO_RULE) is priority
        assert priority_for(severity, EscalationCategory.LOCKOUT) is Priority.P1


def test_dedup_decisions(db: sqlite_utils.Database) -> None:
    first = escalate(
        db,
        config(),
        request_for(
            incident(db, "h", "lnx_backup_recency"), BACKUP, EscalationCategory.NO_RULE, "no rule"
        ),
        T0,
    )
    live = records.get(db, first.escalation_id)
    window = timedelta(hours=24)
    assert decide(None, None, window, T0) is Decision.NEW
    assert decide(live, T0, window, T0 + timedelta(hours=23)) is Decision.OCCURRENCE
    assert decide(live, T0, window, T0 + timedelta(hours=24)) is Decision.REMINDER
    acked = records.acknowledge(db, first.escalation_id, "Dr Who", T0)
    assert decide(acked, T0, window, T0 + timedelta(days=3)) is Decision.OCCURRENCE


# --- records, states, the database ----------------------------------------------------


def test_escalation_record_holds_everything_a_person_needs(db: sqlite_utils.Database) -> None:
    inc = incident(db, "srv1", "lnx_backup_recency")
    why = "no L1 rule matches this drift; call Jane at 555-123-4567"
    done = escalate(db, config(), request_for(inc, BACKUP, EscalationCategory.NO_RULE, why), T0)
    assert done.decision is Decision.NEW and done.notice_id is not None
    row = db.execute(
        "SELECT incident_id, host, check_id, category, priority, severity, check_title,"
        " summary, guidance, state, occurrences, created_at FROM escalations"
    ).fetchall()
    assert row == [
        (
            inc.id,
            "srv1",
            "lnx_backup_recency",
            "no_rule",
            "P1",
            "critical",
            BACKUP.spec.title,
            "no L1 rule matches this drift; call Jane at [phone]. The check says fail:"
            " newest backup is 9 days old",
            BACKUP.spec.guidance,
            "open",
            1,
            T0.isoformat(timespec="milliseconds"),
        )
    ]


def test_ack_then_resolve_records_who_and_when(db: sqlite_utils.Database) -> None:
    inc = incident(db, "srv1", "lnx_backup_recency")
    eid = escalate(db, config(), request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
    e = eid.escalation_id
    with pytest.raises(InputError, match="say who"):
        records.acknowledge(db, e, "  ", T0)
    acked = records.acknowledge(db, e, "Dr Who", T0 + timedelta(minutes=5))
    assert (acked.state, acked.acknowledged_by) == (EscalationState.ACKNOWLEDGED, "Dr Who")
    with pytest.raises(InputError, match="is acknowledged, not open"):
        records.acknowledge(db, e, "Someone", T0)
    done = records.resolve(db, e, "Amy", "restored the timer", T0 + timedelta(hours=1))
    assert (done.state, done.resolved_by, done.resolution_note, done.acknowledged_by) == (
        EscalationState.RESOLVED,
        "Amy",
        "restored the timer",
        "Dr Who",
    )
    with pytest.raises(InputError, match="already resolved"):
        records.resolve(db, e, "Amy", None, T0)
    with pytest.raises(InputError, match="no escalation 99"):
        records.resolve(db, 99, "Amy", None, T0)
    # the database itself refuses to reopen it, to delete it, or to rewrite an attempt
    with pytest.raises(sqlite3.DatabaseError, match="stays resolved"):
        db.execute("UPDATE escalations SET state = 'open' WHERE id = ?", [e])
    with pytest.raises(sqlite3.DatabaseError, match="kept"):
        db.execute("DELETE FROM escalations")


def test_a_resolved_escalation_is_told_again_when_it_comes_back(
    db: sqlite_utils.Database,
) -> None:
    inc = incident(db, "srv1", "lnx_backup_recency")
    req = request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x")
    first = escalate(db, config(), req, T0)
    records.resolve(db, first.escalation_id, "Amy", None, T0 + timedelta(minutes=1))
    again = escalate(db, config(), req, T0 + timedelta(minutes=2))
    assert again.decision is Decision.NEW and again.escalation_id != first.escalation_id
    assert again.notice_id is not None


def test_without_channels_escalations_are_recorded_and_nothing_is_queued(
    db: sqlite_utils.Database,
) -> None:
    inc = incident(db, "srv1", "lnx_backup_recency")
    req = request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x")
    quiet = EscalationConfig()
    first = escalate(db, quiet, req, T0)
    later = escalate(db, quiet, req, T0 + timedelta(days=2))
    assert (first.notice_id, later.notice_id, later.decision) == (None, None, Decision.OCCURRENCE)
    assert db.execute("SELECT occurrences FROM escalations").fetchall() == [(2,)]
    assert db.execute("SELECT count(*) FROM escalation_notices").fetchone() == (0,)


# --- delivery: webhook ------------------------------------------------------------------


def test_dedup_sends_once_per_window_and_never_swallows_another_category(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver() as hook:
        hooked(monkeypatch, hook.url())
        cfg = config()
        inc = incident(db, "srv1", "lnx_backup_recency")
        no_rule = request_for(inc, BACKUP, EscalationCategory.NO_RULE, "no L1 rule")
        escalate(db, cfg, no_rule, T0)
        assert deliver(db, cfg, T0).sent == (1,)
        second = escalate(db, cfg, no_rule, T0 + timedelta(hours=1))
        assert (second.decision, second.notice_id) == (Decision.OCCURRENCE, None)
        assert deliver(db, cfg, T0 + timedelta(hours=1)).sent == ()
        # the same host and check, another category: its own notice
        other = escalate_l2_declined(
            db, cfg, inc, BACKUP, "L2 confidence 0.4 is below 0.7", T0 + timedelta(hours=2)
        )
        assert other.decision is Decision.NEW and other.escalation_id != second.escalation_id
        assert deliver(db, cfg, T0 + timedelta(hours=2)).sent == (other.notice_id,)
        # past the window, still open and nobody acknowledged it: a reminder
        reminder = escalate(db, cfg, no_rule, T0 + timedelta(hours=25))
        assert reminder.decision is Decision.REMINDER
        deliver(db, cfg, T0 + timedelta(hours=25))
        got = [(h.json["category"], h.json["notice"]["kind"]) for h in hook.hits]
        assert got == [("no_rule", "new"), ("l2_declined", "new"), ("no_rule", "reminder")]
        assert hook.hits[0].path == f"/hooks/{WEBHOOK_TOKEN}"
        assert db.execute(
            "SELECT category, occurrences FROM escalations ORDER BY id"
        ).fetchall() == [
            ("no_rule", 3),
            ("l2_declined", 1),
        ]


def test_json_payload_says_what_a_person_needs(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver() as hook:
        hooked(monkeypatch, hook.url())
        inc = incident(db, "srv1", "lnx_backup_recency")
        escalate(db, config(), request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
        deliver(db, config(), T0)
        (hit,) = hook.hits
        assert hit.headers["Content-Type"] == "application/json"
        body = hit.json
        assert body["schema"] == "osiris.escalation/v1"
        assert {k: body[k] for k in ("site", "host", "check_id", "priority", "severity")} == {
            "site": "clinic-a",
            "host": "srv1",
            "check_id": "lnx_backup_recency",
            "priority": "P1",
            "severity": "critical",
        }
        assert body["guidance"] == BACKUP.spec.guidance
        assert body["incident"] == inc.id


def test_slack_and_teams_shapes(db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver() as slack, webhook_receiver() as teams:
        monkeypatch.setenv("SLACK_URL", slack.url())
        monkeypatch.setenv("TEAMS_URL", teams.url())
        cfg = EscalationConfig.model_validate(
            {
                "webhooks": [
                    {"name": "slack", "url_env": "SLACK_URL", "format": "slack"},
                    {"name": "teams", "url_env": "TEAMS_URL", "format": "teams"},
                ]
            }
        )
        inc = incident(db, "srv<1>", "lnx_admin_accounts")
        escalate(db, cfg, request_for(inc, ADMINS, EscalationCategory.RETRIES_EXHAUSTED, "x"), T0)
        assert deliver(db, cfg, T0).sent == (1,)
        (s,) = slack.hits
        message = s.json
        assert message["text"].startswith("[osiris P2] clinic-a: srv<1> lnx_admin_accounts")
        assert [b["type"] for b in message["blocks"]] == [
            "header",
            "section",
            "section",
            "section",
            "context",
        ]
        fields = " ".join(f["text"] for f in message["blocks"][1]["fields"])
        assert "srv&lt;1&gt;" in fields and "P2 (severity high)" in fields  # mrkdwn escaped
        assert "gpasswd -d USER sudo" in message["blocks"][3]["text"]["text"]
        (t,) = teams.hits
        (attachment,) = t.json["attachments"]
        assert t.json["type"] == "message"
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
        assert facts["Host"] == "srv<1>" and facts["Priority"] == "P2 (severity high)"
        assert facts["Category"] == "retries_exhausted"
        assert any(ADMINS.spec.guidance == b.get("text") for b in card["body"])


def test_rate_limit_holds_notices_and_sends_them_later_most_urgent_first(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver() as hook:
        hooked(monkeypatch, hook.url())
        cfg = config(max_notices_per_hour=2)
        low = incident(db, "a", "lnx_admin_accounts")
        escalate(db, cfg, request_for(low, ADMINS, EscalationCategory.NO_RULE, "x"), T0)
        for host in ("b", "c"):
            inc = incident(db, host, "lnx_backup_recency")
            escalate(db, cfg, request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
        first = deliver(db, cfg, T0)
        assert (len(first.sent), len(first.held)) == (2, 1)
        assert [h.json["host"] for h in hook.hits] == ["b", "c"]  # P1 before P2
        assert deliver(db, cfg, T0 + timedelta(minutes=59)).held == first.held
        later = deliver(db, cfg, T0 + timedelta(minutes=61))
        assert later.sent == first.held and later.held == ()
        assert [h.json["host"] for h in hook.hits] == ["b", "c", "a"]


def test_a_failing_webhook_is_recorded_without_its_url_and_retried(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = free_port()
    hooked(monkeypatch, f"http://127.0.0.1:{dead}/hooks/{WEBHOOK_TOKEN}")
    cfg = config()
    inc = incident(db, "srv1", "lnx_backup_recency")
    escalate(db, cfg, request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
    failed = deliver(db, cfg, T0)
    assert failed.sent == () and len(failed.failed) == 1
    with webhook_receiver() as hook:
        hook.fail_next = 1
        hooked(monkeypatch, hook.url())
        assert deliver(db, cfg, T0 + timedelta(minutes=5)).failed[0][2] == (
            "HTTP 500 Internal Server Error"
        )
        assert deliver(db, cfg, T0 + timedelta(minutes=10)).sent == (1,)
        assert len(hook.hits) == 2
    rows = db.execute("SELECT channel, ok, error FROM notice_attempts ORDER BY id").fetchall()
    assert [(c, ok) for c, ok, _ in rows] == [
        ("webhook:ops", 0),
        ("webhook:ops", 0),
        ("webhook:ops", 1),
    ]
    assert "refused" in rows[0][2].lower()
    assert WEBHOOK_TOKEN not in "\n".join(db.conn.iterdump())
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE notice_attempts SET ok = 1")


def test_plain_http_is_refused_except_to_loopback(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked(monkeypatch, f"http://hooks.example.org/{WEBHOOK_TOKEN}")
    inc = incident(db, "srv1", "lnx_backup_recency")
    escalate(db, config(), request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
    (failure,) = deliver(db, config(), T0).failed
    assert failure[2] == "webhook ops: the URL must be https (http only to loopback)"


def test_a_missing_webhook_url_names_where_to_put_it(db: sqlite_utils.Database) -> None:
    inc = incident(db, "srv1", "lnx_backup_recency")
    escalate(db, config(), request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
    (failure,) = deliver(db, config(), T0).failed
    assert failure[1:] == (
        "webhook:ops",
        "webhook ops: no URL (set $OSIRIS_WEBHOOK_OPS or services.ops in secrets.yaml)",
    )


# --- delivery: e-mail ----------------------------------------------------------------


def email_config(port: int, ca_file: Path, **extra: object) -> EscalationConfig:
    return EscalationConfig.model_validate(
        {
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "username": SMTP_USER,
                "from": "osiris@clinic.example",
                "to": ["msp@example.net", "oncall@example.net"],
                "ca_file": str(ca_file),
                **extra,
            }
        }
    )


def test_email_over_starttls_with_login(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OSIRIS_SMTP_PASSWORD", SMTP_PASSWORD)
    with smtp_server(tmp_path) as server:
        cfg = email_config(server.port, server.ca_file)
        inc = incident(db, "srv1", "lnx_backup_recency")
        escalate(db, cfg, request_for(inc, BACKUP, EscalationCategory.CHECK_ERROR, "x"), T0)
        assert deliver(db, cfg, T0).sent == (1,)
    (mail,) = server.received
    assert (mail.tls, mail.login) == (True, SMTP_USER)
    assert mail.rcpt_tos == ["msp@example.net", "oncall@example.net"]
    message = mail.message
    assert message["Subject"] == "[osiris P1] clinic-a: srv1 lnx_backup_recency (check_error)"
    assert message["X-Osiris-Priority"] == "P1"
    text = message.get_content()
    assert "Host:       srv1" in text and "Priority:   P1 (severity critical)" in text
    assert BACKUP.spec.guidance in text
    assert SMTP_PASSWORD.encode() not in mail.content


def test_a_certificate_osiris_does_not_trust_sends_nothing(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the test CA, STARTTLS must fail validation: no login, no message."""
    monkeypatch.setenv("OSIRIS_SMTP_PASSWORD", SMTP_PASSWORD)
    with smtp_server(tmp_path) as server:
        cfg = EscalationConfig.model_validate(
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "username": SMTP_USER,
                    "from": "osiris@clinic.example",
                    "to": ["msp@example.net"],
                }
            }
        )
        inc = incident(db, "srv1", "lnx_backup_recency")
        escalate(db, cfg, request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
        (failure,) = deliver(db, cfg, T0).failed
    assert "CERTIFICATE_VERIFY_FAILED" in failure[2]
    assert server.received == [] and server.logins == []


def test_a_wrong_password_is_recorded_without_the_password(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OSIRIS_SMTP_PASSWORD", "not-the-Password-42")
    with smtp_server(tmp_path) as server:
        cfg = email_config(server.port, server.ca_file)
        inc = incident(db, "srv1", "lnx_backup_recency")
        escalate(db, cfg, request_for(inc, BACKUP, EscalationCategory.NO_RULE, "x"), T0)
        (failure,) = deliver(db, cfg, T0).failed
    assert failure[2].startswith("SMTPAuthenticationError")
    # smtplib tries each mechanism the server offers (PLAIN, LOGIN)
    assert set(server.logins) == {(SMTP_USER, "not-the-Password-42")}
    assert server.received == []
    assert "not-the-Password-42" not in "\n".join(db.conn.iterdump())


def test_a_login_without_starttls_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="password in clear"):
        EscalationConfig.model_validate(
            {
                "email": {
                    "host": "mail",
                    "starttls": False,
                    "username": "u",
                    "from": "a@b.c",
                    "to": ["d@e.f"],
                }
            }
        )
