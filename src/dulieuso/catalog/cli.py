# SPDX-License-Identifier: AGPL-3.0-or-later
"""``dulieuso catalog import|export``: the spreadsheet import and the exports of an issued
version, from the command line. Both call the same functions as the pages and the API.

    dulieuso catalog import FILE.xlsx --agency CODE [--dry-run] [--data-dir DIR]
    dulieuso catalog export --issue ID --format xlsx|pdf|csv|json [--out PATH] [--data-dir DIR]

Exit codes: 0 done, 2 refused (the errors are printed, located by row and column).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# The main CLI mounts this sub-app (``app.add_typer(catalog_cli.app, name="catalog")``), so
# its helpers are imported inside the commands: importing them here would be circular.
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="DULIEUSO_DATA_DIR", help="Data folder (default ./dulieuso-data)."),
]

app = typer.Typer(help="Danh mục CSDL: nhập từ Excel, xuất bản ban hành (catalog import/export).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(error: Exception) -> None:
    """Print a domain error with its located messages (Vietnamese, then English) and exit 2."""
    from dulieuso.catalog.spreadsheet import ImportErrors
    from dulieuso.errors import DomainError

    if not isinstance(error, DomainError):
        raise error
    err.print(f"[red]Lỗi:[/red] {error.message.vi}")
    if isinstance(error, ImportErrors):
        for item in error.errors:
            where = f"[{item.sheet}] " if item.sheet else ""
            err.print(f"  - {where}{item.message.vi}")
        if error.total > len(error.errors):
            err.print(f"  … và {error.total - len(error.errors)} lỗi khác / and {error.total - len(error.errors)} more")
    else:
        for name, messages in error.fields.items():
            err.print(f"  - {name}: {'; '.join(m.vi for m in messages)}")
    err.print(f"[dim]Error: {error.message.en}[/dim]")
    raise typer.Exit(code=2)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The filled template (.xlsx).")],
    agency: Annotated[str, typer.Option("--agency", help="Code of the agency the entries belong to; '*': the agency each row names.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the changes; save nothing.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Import catalog entries from a filled XLSX template, all or nothing."""
    from dulieuso.catalog import imports
    from dulieuso.cli import _cli_actor, _sessionmaker, _settings

    data = file.read_bytes()
    factory = _sessionmaker(_settings(data_dir))
    actor = _cli_actor()
    with factory() as session:
        try:
            with console.status("Đang đọc và kiểm tra tệp / checking the file…"):
                parsed, plan = imports.plan_import(session, actor, data, agency)
        except Exception as error:
            session.rollback()
            _fail(error)
        table = Table(title=f"{file.name} → {plan.agency}")
        for column in ("Mã / code", "Tên / name", "Dòng / row", "Thay đổi / action", "Trường đổi / changed fields"):
            table.add_column(column)
        for entry in plan.entries:
            table.add_row(entry.code, entry.name, str(entry.row), entry.action,
                          ", ".join(c.path for c in entry.changes[:6]) + (" …" if len(entry.changes) > 6 else ""))
        console.print(table)
        counts = plan.counts()
        summary = f"tạo mới / create {counts['create']}, cập nhật / update {counts['update']}, không đổi / unchanged {counts['unchanged']}"
        if dry_run:
            session.rollback()
            console.print(f"[yellow]Chạy thử, không lưu / dry run, nothing saved:[/yellow] {summary}")
            return
        try:
            with Progress(TextColumn("Đang lưu / saving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task("save", total=len(plan.entries))
                result = imports.apply_import(
                    session, actor, data, agency, parsed=parsed,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
            session.commit()
        except Exception as error:
            session.rollback()
            _fail(error)
    counts = result.as_dict()["counts"]
    console.print(
        f"[green]Đã nhập / imported:[/green] tạo mới / created {counts['create']}, "
        f"cập nhật / updated {counts['update']}, không đổi / unchanged {counts['unchanged']}"
    )


@app.command("export")
def export_issue(
    issue: Annotated[str, typer.Option("--issue", help="Number (or id) of the issued version.")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx, pdf, csv or json.")] = "xlsx",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: a name in the current folder; '-' for stdout).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export an issued version of the catalog."""
    from dulieuso.catalog import exports
    from dulieuso.cli import _cli_actor, _sessionmaker, _settings

    fmt = fmt.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        err.print(f"[red]Định dạng không hợp lệ / unknown format:[/red] {fmt} ({', '.join(exports.FORMATS)})")
        raise typer.Exit(code=2)
    factory = _sessionmaker(_settings(data_dir))
    with factory() as session:
        try:
            export = exports.load_export(session, _cli_actor(), issue)
            with console.status(f"Đang tạo tệp {fmt} / rendering…"):
                content = exports.render(export, fmt)
        except Exception as error:
            _fail(error)
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(content)
        return
    target = out or Path(exports.filename(export, fmt))
    target.write_bytes(content)
    err.print(f"Đã ghi / written: {target} ({len(content):,} bytes, {len(export.entries)} CSDL)")


if __name__ == "__main__":
    app()
