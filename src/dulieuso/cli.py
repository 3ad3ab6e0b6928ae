"""The ``dulieuso`` command: serve, demo, init, user, token, check.

Every verb takes ``--data-dir`` (or ``DULIEUSO_DATA_DIR``) so it works on the same data
as a running server. Commands call the same service functions as the pages and the API.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dulieuso.catalog import cli as catalog_cli
from dulieuso.config import Settings
from dulieuso.sharing import cli as log_cli

app = typer.Typer(help="dulieuso — nền tảng dữ liệu số cấp tỉnh (provincial data platform).", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(log_cli.app, name="log")
app.add_typer(catalog_cli.app, name="catalog")
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="DULIEUSO_DATA_DIR", help="Data folder (default ./dulieuso-data)."),
]


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    values: dict[str, object] = dict(extra)
    if data_dir is not None:
        values["data_dir"] = data_dir
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.ensure_data_dir()
    return settings


def _sessionmaker(settings: Settings):  # type: ignore[no-untyped-def]
    from dulieuso.audit.service import install_guard
    from dulieuso.db import make_engine, make_sessionmaker
    from dulieuso.migrate import upgrade

    install_guard()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    return make_sessionmaker(engine)


def _cli_actor():  # type: ignore[no-untyped-def]
    from dulieuso.auth.models import Role
    from dulieuso.auth.permissions import Actor

    return Actor(role=Role.PLATFORM_ADMIN, email=f"cli:{getpass.getuser()}", via="cli")


def _fail(error: Exception) -> None:
    from dulieuso.errors import DomainError

    if isinstance(error, DomainError):
        err.print(f"[red]Lỗi:[/red] {error.message.vi}")
        for name, messages in error.fields.items():
            err.print(f"  - {name}: {'; '.join(m.vi for m in messages)}")
        err.print(f"[dim]Error: {error.message.en}[/dim]")
        raise typer.Exit(code=2)
    raise error


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"dulieuso {version('dulieuso')}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """dulieuso command line."""


def _run_server(settings: Settings, host: str, port: int) -> None:
    from dulieuso import server
    from dulieuso.app import create_app

    application = create_app(settings)
    from dulieuso.policy import service as policy

    factory = application.state.sessionmaker
    with factory() as session:
        policy.seed(session, _cli_actor())
        session.commit()
    server.run(
        application,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=20,
        proxy_headers=True,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run the platform (migrates the database on start)."""
    _run_server(_settings(data_dir), host, port)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run the platform with the Lai Châu demo data (loaded once) and demo accounts."""
    from dulieuso import demo as demo_data

    extra: dict[str, object] = {"demo": True}
    if "DULIEUSO_BASE_URL" not in os.environ:
        # The demo services call the built-in upstream through this address.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        extra["base_url"] = f"http://{shown}:{port}"
    settings = _settings(data_dir, **extra)
    factory = _sessionmaker(settings)
    with factory() as session:
        counts = demo_data.load(session, settings)
        session.commit()
    console.print(f"[bold]Dữ liệu mẫu / demo data:[/bold] {counts}")
    table = Table(title="Tài khoản demo / demo accounts")
    table.add_column("Vai trò / role")
    table.add_column("E-mail")
    table.add_column("Mật khẩu / password")
    for account in demo_data.DEMO_ACCOUNTS:
        table.add_row(account.role.value, account.email, account.password)
    console.print(table)
    console.print(f"→ http://{host}:{port}")
    _run_server(settings, host, port)


@app.command()
def init(
    admin_email: Annotated[str, typer.Option(help="E-mail of the first platform administrator.")],
    admin_password: Annotated[
        str | None, typer.Option(help="Password (asked for when not given).")
    ] = None,
    admin_name: Annotated[str, typer.Option(help="Full name.")] = "Quản trị nền tảng",
    data_dir: DataDir = None,
) -> None:
    """Create the database, the legal policy table and the first administrator."""
    from dulieuso.auth import service as auth
    from dulieuso.auth.models import Role
    from dulieuso.policy import service as policy

    settings = _settings(data_dir)
    factory = _sessionmaker(settings)
    password = admin_password or getpass.getpass("Mật khẩu / password: ")
    with factory() as session:
        try:
            policy.seed(session, _cli_actor())
            if auth.find_user_by_email(session, admin_email) is None:
                auth.create_user(
                    session,
                    _cli_actor(),
                    auth.NewUser(email=admin_email, full_name=admin_name, role=Role.PLATFORM_ADMIN, password=password),
                )
                console.print(f"Đã tạo quản trị viên / administrator created: {admin_email}")
            else:
                console.print(f"Tài khoản đã có / account exists: {admin_email}")
            session.commit()
        except Exception as error:  # rendered for the operator
            session.rollback()
            _fail(error)
    console.print(f"Dữ liệu / data: {settings.data_dir}")


@user_app.command("create")
def user_create(
    email: str,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[str, typer.Option(help="platform_admin, agency_admin, agency_editor, agency_approver, consumer_system, citizen")],
    agency: Annotated[str | None, typer.Option(help="Agency code, for agency roles.")] = None,
    password: Annotated[str | None, typer.Option(help="Password (asked for when not given).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account."""
    from dulieuso.agencies import service as agencies
    from dulieuso.auth import service as auth
    from dulieuso.auth.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        err.print(f"[red]Vai trò không hợp lệ / unknown role:[/red] {role}")
        raise typer.Exit(code=2) from None
    if password is None and role_value is not Role.CONSUMER_SYSTEM:
        password = getpass.getpass("Mật khẩu / password: ")
    factory = _sessionmaker(_settings(data_dir))
    with factory() as session:
        try:
            agency_id = agencies.get_by_code(session, agency).id if agency else None
            user = auth.create_user(
                session,
                _cli_actor(),
                auth.NewUser(email=email, full_name=name, role=role_value, password=password, agency_id=agency_id),
            )
            session.commit()
        except Exception as error:
            session.rollback()
            _fail(error)
    console.print(f"Đã tạo / created: {user.email} ({user.role.value})")


@user_app.command("list")
def user_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency (code).")] = None,
    data_dir: DataDir = None,
) -> None:
    """List accounts."""
    from dulieuso.agencies import service as agencies
    from dulieuso.auth import service as auth

    factory = _sessionmaker(_settings(data_dir))
    with factory() as session:
        try:
            agency_id = agencies.get_by_code(session, agency).id if agency else None
            users, total = auth.list_users(session, _cli_actor(), agency_id=agency_id, limit=10000)
        except Exception as error:
            _fail(error)
        names = agencies.names_by_id(session)
    table = Table(title=f"{total} tài khoản / accounts")
    for column in ("E-mail", "Họ tên / name", "Vai trò / role", "Cơ quan / agency", "Trạng thái / status"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.email,
            user.full_name,
            user.role.value,
            names.get(user.agency_id, "") if user.agency_id else "",
            "active" if user.is_active else "disabled",
        )
    console.print(table)


@user_app.command("disable")
def user_disable(email: str, data_dir: DataDir = None) -> None:
    """Disable an account (its sessions end at once)."""
    from dulieuso.auth import service as auth

    factory = _sessionmaker(_settings(data_dir))
    with factory() as session:
        user = auth.find_user_by_email(session, email)
        if user is None:
            err.print(f"[red]Không tìm thấy tài khoản / account not found:[/red] {email}")
            raise typer.Exit(code=2)
        try:
            auth.disable_user(session, _cli_actor(), user)
            session.commit()
        except Exception as error:
            session.rollback()
            _fail(error)
    console.print(f"Đã khóa / disabled: {email}")


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires_days: Annotated[int | None, typer.Option(help="Days until it expires (default: never).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API token for an account and print it once."""
    from dulieuso.auth import service as auth

    factory = _sessionmaker(_settings(data_dir))
    with factory() as session:
        user = auth.find_user_by_email(session, email)
        if user is None:
            err.print(f"[red]Không tìm thấy tài khoản / account not found:[/red] {email}")
            raise typer.Exit(code=2)
        try:
            _, plain = auth.create_token(session, _cli_actor(), user, name=name, expires_days=expires_days)
            session.commit()
        except Exception as error:
            session.rollback()
            _fail(error)
    err.print("Token (hiển thị một lần / shown once):")
    print(plain)


@app.command("deliver-mail")
def deliver_mail(data_dir: DataDir = None) -> None:
    """Send notification e-mails still waiting (e.g. after an SMTP outage)."""
    from dulieuso.notifications.service import deliver_pending

    settings = _settings(data_dir)
    factory = _sessionmaker(settings)
    with factory() as session:
        report = deliver_pending(session, settings)
    console.print(f"E-mail: {report}")


@app.command()
def check(data_dir: DataDir = None) -> None:
    """Check configuration, database, storage and migrations; exit 1 when something fails."""
    from types import SimpleNamespace

    from dulieuso.db import make_engine
    from dulieuso.ops.api import run_checks

    try:
        settings = _settings(data_dir)
    except Exception as error:  # configuration errors are reported, not raised
        err.print(f"[red]configuration: FAIL[/red] {error}")
        raise typer.Exit(code=1) from None
    console.print(f"configuration: OK (data dir {settings.data_dir}, base URL {settings.base_url})")
    engine = make_engine(settings.effective_database_url)
    results = run_checks(SimpleNamespace(engine=engine, settings=settings))
    failed = False
    for name, result in results.items():
        status = "[green]OK[/green]" if result["ok"] else "[red]FAIL[/red]"
        detail = {k: v for k, v in result.items() if k != "ok"}
        console.print(f"{name}: {status} {detail}")
        failed |= not result["ok"]
    engine.dispose()
    raise typer.Exit(code=1 if failed else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
