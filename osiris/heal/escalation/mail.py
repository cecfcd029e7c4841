"""Notices by e-mail: smtplib, STARTTLS with certificate validation, login when a user
is configured. One SMTP session per delivery, one message per notice."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from osiris.config import EmailConfig
from osiris.heal.escalation import message
from osiris.heal.escalation.channel import Results, describe
from osiris.heal.escalation.model import Notice
from osiris.model import Secret

PASSWORD_NAME = "smtp_password"  # noqa: S105 (the name of the secret, not a secret)
PASSWORD_ENV = "OSIRIS_SMTP_PASSWORD"  # noqa: S105
_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class EmailChannel:
    name = "email"

    def __init__(self, config: EmailConfig, password: Secret | None, site_id: str) -> None:
        self._config = config
        self._password = password
        self._site_id = site_id

    def send(self, notices: Sequence[Notice]) -> Results:
        results: Results = {}
        if self._config.username and self._password is None:
            missing = (
                f"no SMTP password for {self._config.username}: set ${PASSWORD_ENV} or"
                f" services.{PASSWORD_NAME} in secrets.yaml"
            )
            return {n.id: missing for n in notices}
        try:
            with self._session() as smtp:
                for notice in notices:
                    try:
                        smtp.send_message(self.message(notice))
                        results[notice.id] = None
                    except _REFUSED as exc:  # this message only; the session goes on
                        results[notice.id] = describe(exc, self._password)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            error = describe(exc, self._password)
            # the session broke: what it took stays taken, the rest failed with it
            for notice in notices:
                results.setdefault(notice.id, error)
        return results

    def _session(self) -> smtplib.SMTP:
        config = self._config
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            smtp.ehlo()
            if config.starttls:
                context = ssl.create_default_context(cafile=config.ca_file)
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.username and self._password is not None:
                smtp.login(config.username, self._password.reveal())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def message(self, notice: Notice) -> EmailMessage:
        config, e = self._config, notice.escalation
        mail = EmailMessage()
        mail["Subject"] = message.subject(self._site_id, notice)
        mail["From"] = config.sender
        mail["To"] = ", ".join(config.to)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(f"osiris.{e.id}.{notice.id}", domain=self._site_id)
        mail["X-Osiris-Escalation"] = str(e.id)
        mail["X-Osiris-Priority"] = e.priority.value
        mail.set_content(message.body(self._site_id, notice))
        return mail
