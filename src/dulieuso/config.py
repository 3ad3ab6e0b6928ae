"""Settings: one typed object, read from ``DULIEUSO_*`` environment variables.

Every option an operator can set is declared here with a type, a default and a
description. ``tests/test_docs.py`` checks that each one is documented in
``docs/operations.md``.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DULIEUSO_", extra="ignore")

    data_dir: Path = Field(
        Path("./dulieuso-data"),
        description="Folder for the embedded database, uploaded files, keys and the secret key.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata database. Empty: SQLite file in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs cookies and links. Generated and stored in the data dir "
        "when not given.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL, used in e-mails, API links and DCAT identifiers.",
    )
    default_language: Literal["vi", "en"] = Field(
        "vi", description="Language of pages and messages when the visitor has not chosen one."
    )
    smtp_url: str | None = Field(
        None,
        description="SMTP server for e-mail, e.g. smtp://user:pass@host:587?starttls=1. "
        "Empty: no e-mail is sent, notifications stay in the in-app inbox.",
    )
    mail_from: str = Field(
        "dulieuso@localhost", description="Sender address of e-mails the platform sends."
    )
    site_name: str = Field(
        "Nền tảng dữ liệu số tỉnh Lai Châu", description="Name shown in the header and e-mails."
    )
    demo: bool = Field(False, description="Demo mode: shows demo accounts on the login page.")
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Secure flag on cookies: auto sets it when the request came over HTTPS "
        "(or X-Forwarded-Proto says so).",
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024, description="Largest request body accepted on JSON and form routes."
    )
    opendata_max_upload_bytes: int = Field(
        500 * 1024 * 1024, description="Largest file upload (open-data resources, spreadsheets, documents)."
    )
    login_max_failures: int = Field(
        5, description="Failed logins for one e-mail (or address) before login is throttled."
    )
    login_lock_minutes: int = Field(15, description="Minutes a throttled login stays locked.")
    session_days: int = Field(14, description="Days a login session lasts without activity.")
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    sharing_log_fsync: bool = Field(
        True,
        description="Flush each sharing-log batch to disk (fsync) before the gateway answers. "
        "Off: entries survive a killed server but not a power loss; the gateway is faster.",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'dulieuso.sqlite3'}"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    def ensure_data_dir(self) -> None:
        """Create the data dir and its storage folder; create the secret key if missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        if self.secret_key is None:
            path = self.data_dir / SECRET_FILE
            if not path.exists():
                path.write_text(secrets.token_urlsafe(48))
                path.chmod(0o600)
            self.secret_key = SecretStr(path.read_text().strip())

    @property
    def secret(self) -> str:
        if self.secret_key is None:
            self.ensure_data_dir()
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()
