# SPDX-License-Identifier: AGPL-3.0-or-later
"""``dulieuso log``: verify, export, purge and check archives of the sharing log.

Added to the main command with ``app.add_typer(log_cli.app, name="log")``; also runs
alone as ``python -m dulieuso.sharing.cli``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from dulieuso.config import Settings

app = typer.Typer(help="Sharing log (nhật ký chia sẻ dữ liệu, Art. 45): verify, export, purge.",
                  no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="DULIEUSO_DATA_DIR", help="Data folder (default ./dulieuso-data)."),
]
From = Annotated[str | None, typer.Option("--from", help="Start: date, ISO time (UTC if no zone) or #seq.")]
To = Annotated[str | None, typer.Option("--to", help="End (exclusive for times, inclusive for #seq).")]


def _engine(data_dir: Path | None, migrate: bool = True):  # type: ignore[no-untyped-def]
    from dulieuso.db import make_engine

    settings = Settings(**({"data_dir": data_dir} if data_dir else {}))  # type: ignore[arg-type]
    settings.ensure_data_dir()
    engine = make_engine(settings.effective_database_url)
    if migrate:
        from dulieuso.migrate import upgrade

        upgrade(engine)
    return settings, engine


def _bound(value: str | None, option: str):  # type: ignore[no-untyped-def]
    from dulieuso.sharing.log import parse_bound

    try:
        return parse_bound(value)
    except ValueError:
        typer.echo(f"Giá trị {option} không hợp lệ / invalid {option}: {value}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def verify(start: From = None, end: To = None, data_dir: DataDir = None,
           workers: Annotated[int | None, typer.Option(
               min=1, help="Processes to use (default: one per CPU for long ranges).")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Recompute the hash chain and the signed checkpoints; exit 1 naming the first bad entry.

    Read-only: unlike the other commands it does not migrate the database (loading the
    migrations would also cost more than a second of start-up). The running writer signs
    its newest entries within half a second; a tail not yet signed is waited for (up to
    2 s) and then reported as ``unsealed``.
    """
    from sqlalchemy.exc import DBAPIError

    from dulieuso.sharing.log import verify as run_verify

    _, engine = _engine(data_dir, migrate=False)
    try:
        result = run_verify(engine, _settings_dir(data_dir), _bound(start, "--from"), _bound(end, "--to"),
                            workers=workers)
    except (DBAPIError, engine.dialect.loaded_dbapi.Error) as error:
        typer.echo("Không đọc được nhật ký / cannot read the sharing log; is the database migrated "
                   f"(`dulieuso check`)? {error}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result.__dict__, default=str))
    elif result.ok:
        typer.echo(f"OK: nhật ký nguyên vẹn / log intact: {result.entries} entries "
                   f"(#{result.first_seq}..#{result.last_seq}), {result.checkpoints} checkpoints, "
                   f"{result.seconds:.2f} s")
    else:
        typer.echo(f"FAIL: {result.problem}")
        typer.echo(f"first bad entry: #{result.bad_seq} ({result.kind})")
    raise typer.Exit(code=0 if result.ok else 1)


def _settings_dir(data_dir: Path | None) -> Path:
    settings = Settings(**({"data_dir": data_dir} if data_dir else {}))  # type: ignore[arg-type]
    return settings.data_dir


@app.command()
def export(out: Annotated[Path, typer.Option("--out", help="Archive file to write (.zip).")],
           start: From = None, end: To = None, data_dir: DataDir = None) -> None:
    """Write a signed archive of the entries in the range (verify it with ``verify-archive``
    or with the ``verify.py`` inside it)."""
    from dulieuso.sharing.log import export as run_export

    _, engine = _engine(data_dir)
    manifest = run_export(engine, _settings_dir(data_dir), out, _bound(start, "--from"), _bound(end, "--to"))
    engine.dispose()
    typer.echo(f"{out}: {manifest['entry_count']} entries (#{manifest['first_seq']}..#{manifest['last_seq']}), "
               f"digest {manifest['archive_digest']}, previous {manifest['previous_archive_digest']}")


@app.command("verify-archive")
def verify_archive(archive: Path,
                   public_key: Annotated[Path | None, typer.Option(help="PEM public key (from the provider).")] = None
                   ) -> None:
    """Check an exported archive; exit 1 listing what is wrong."""
    from dulieuso.sharing.log import verify_archive as run

    problems = run(archive, public_key.read_bytes() if public_key else None)
    typer.echo("\n".join(problems) if problems else "OK: archive intact")
    raise typer.Exit(code=1 if problems else 0)


@app.command()
def purge(
    days: Annotated[int | None, typer.Option(help="Keep this many days (the regulation's log retention).")] = None,
    before: Annotated[str | None, typer.Option(help="Delete entries requested before this date/time.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete entries past retention (Art. 45(3)); a signed anchor keeps the rest verifiable."""
    from dulieuso.sharing.log import purge as run_purge
    from dulieuso.sharing.log import retention_cutoff

    if (days is None) == (before is None):
        typer.echo("Give --days or --before.", err=True)
        raise typer.Exit(code=2)
    cutoff = retention_cutoff(days) if days is not None else _bound(before, "--before")
    if not hasattr(cutoff, "tzinfo"):
        typer.echo("--before must be a date or a time.", err=True)
        raise typer.Exit(code=2)
    _, engine = _engine(data_dir)
    deleted = run_purge(engine, _settings_dir(data_dir), cutoff)
    engine.dispose()
    typer.echo(f"purged {deleted} entries requested before {cutoff.isoformat()}")


if __name__ == "__main__":
    sys.exit(app())
