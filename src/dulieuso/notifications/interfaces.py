# SPDX-License-Identifier: AGPL-3.0-or-later
"""The contract with the mail system. Implementations live in ``backends.py``."""

from __future__ import annotations

from typing import Protocol


class Mailer(Protocol):
    """Sends one e-mail. Raises (``OSError``, ``smtplib.SMTPException``) when it cannot.

    Callers decide what a failure means; the notification service records it and carries
    on, so a broken mail server never undoes what the user did.
    """

    @property
    def enabled(self) -> bool:
        """False for a mailer that sends nothing (no mail server configured)."""
        ...

    def send(self, to: str, subject: str, text_body: str, html_body: str | None = None) -> None:
        """Send a message to one address; ``html_body`` is an optional HTML alternative."""
        ...
