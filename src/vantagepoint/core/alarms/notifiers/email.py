"""``email``: send the alarm by SMTP (optionally STARTTLS and login)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Literal

from pydantic import Field

from vantagepoint.core.alarms.notifiers import Notice, NotifierConfig


class EmailConfig(NotifierConfig):
    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = Field(10.0, gt=0, le=120)


class EmailNotifier:
    Config = EmailConfig

    def __init__(self, name: str, config: EmailConfig):
        self.name, self.config = name, config

    def notify(self, notice: Notice) -> None:
        c = self.config
        message = EmailMessage()
        message["Subject"] = notice.subject()
        message["From"], message["To"] = c.sender, ", ".join(c.to)
        message.set_content(notice.text())
        with smtplib.SMTP(c.host, c.port, timeout=c.timeout) as smtp:
            if c.starttls:
                smtp.starttls()
            if c.username:
                smtp.login(c.username, c.password or "")
            smtp.send_message(message)
