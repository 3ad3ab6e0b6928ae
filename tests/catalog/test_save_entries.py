# SPDX-License-Identifier: AGPL-3.0-or-later
"""``service.save_entries``, the batch save behind the spreadsheet import: the same rows,
results and audit records as ``save_entry`` called entry by entry; nothing saved when one
entry is refused; a fixed number of statements per chunk plus one per saved entry."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import service, systems
from dulieuso.catalog.entries import CategoryData, ElementData, EntryData
from dulieuso.catalog.models import Database, ElementType, Hosting, SharingForm, UserType
from dulieuso.errors import Forbidden, Invalid

from .conftest import World, complete_entry, matrix


def _with_reference_data(world: World) -> None:
    """A focal point for empty contacts and an information system to name; committed."""
    agencies.assign_focal_point(world.db, SYSTEM, world.land, agencies.FocalPointInput(
        full_name="Lò Văn Mười", position="Phó phòng", function="Đầu mối", phone="0213 3876 543",
        email="dau.moi@example.vn", valid_from="2025-01-01"))
    systems.save_system(world.db, SYSTEM, systems.SystemInput(
        code="T-HTTT-DATDAI", name="Hệ thống thông tin đất đai", owner_agency=world.land.code,
        hosting=Hosting.PROVINCIAL_DATACENTER))
    world.db.commit()


def _saved_before(world: World) -> None:
    """Entries the batch then changes, leaves alone, or reopens after acceptance."""
    service.save_entry(world.db, world.a_editor, complete_entry("T-DOI", world.land.code))
    service.save_entry(world.db, world.a_editor, complete_entry("T-GIU", world.land.code))
    world.accepted("T-CHAPNHAN")
    world.db.commit()


def _batch(world: World) -> list[EntryData]:
    """New, changed and unchanged entries; one code twice; contact, system, code list, secret."""
    changed = complete_entry("T-DOI", world.land.code, purpose="Mục đích mới")
    changed.categories[0].elements.append(ElementData(name="Giới tính chủ", data_type=ElementType.CODE,
                                                      code_list="gioi-tinh"))
    del changed.categories[1]
    new = complete_entry("T-MOI", world.land.code, systems=["t-httt-datdai"])  # no contact: the focal point
    new.categories.append(CategoryData(name="Nhân khẩu", elements=[
        ElementData(name="Giới tính", data_type=ElementType.CODE, code_list="gioi-tinh"),
        ElementData(name="Dân tộc", data_type=ElementType.CODE),  # a notice: no code list
    ], availability=matrix(SharingForm.DEFAULT)))
    return [
        changed,
        complete_entry("T-GIU", world.land.code),
        complete_entry("T-CHAPNHAN", world.land.code, scope="Huyện Tam Đường"),
        new,
        complete_entry("T-BIMAT", world.land.code, contains_state_secret=True, categories=[
            CategoryData(name="Hồ sơ", elements=[ElementData(name="Số hồ sơ", data_type=ElementType.TEXT)],
                         availability={UserType.PROVINCE_AGENCIES: SharingForm.SPECIAL_REQUEST}),
        ]),
        complete_entry("T-HAILAN", world.land.code),
        complete_entry("T-HAILAN", world.land.code, content="Nội dung sửa ở dòng sau"),
    ]


def _outcome(db: Session, results: list[service.SaveResult], codes: list[str]) -> dict[str, Any]:
    """What a save left behind, without ids and times (they differ from run to run)."""
    db.flush()
    found = {code: service.find(db, code) for code in sorted(set(codes))}
    entries = {code: service.to_dict(db, database) for code, database in found.items() if database is not None}
    labels = {f"{e['code']} – {e['name']}" for e in entries.values()}
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "databases", AuditEvent.subject_label.in_(labels))
    ).all()
    trail = sorted(
        ((e.subject_label, e.changes.get("details", {}).get("revision", 0), e.tag, e.changes["diff"]) for e in events),
        key=lambda t: t[:3],
    )
    return {
        "results": [(r.database.code, r.created, r.changed, [n.field for n in r.notices]) for r in results],
        "entries": entries,
        "trail": trail,
    }


class TestSaveEntries:
    @pytest.mark.parametrize("chunk", [2, 500], ids=["chunks-of-2", "one-chunk"])
    def test_saves_and_records_what_saving_one_by_one_does(self, world, monkeypatch, chunk):
        _with_reference_data(world)
        _saved_before(world)
        codes = [e.code for e in _batch(world)]

        one_by_one = world.db.begin_nested()
        expected = _outcome(world.db, [service.save_entry(world.db, world.a_editor, e) for e in _batch(world)], codes)
        one_by_one.rollback()
        world.db.expire_all()
        monkeypatch.setattr(service, "SAVE_CHUNK", chunk)
        batched = _outcome(world.db, service.save_entries(world.db, world.a_editor, _batch(world)), codes)
        world.db.commit()  # the audit guard finds a record for every change

        assert batched == expected
        assert [r[1:3] for r in batched["results"]] == [
            (False, True), (False, False), (False, True), (True, True), (True, True), (True, True), (False, True),
        ]
        assert batched["entries"]["T-MOI"]["contact"]["name"] == "Lò Văn Mười"
        assert batched["entries"]["T-CHAPNHAN"]["status"] == "draft"
        assert [t[1:3] for t in batched["trail"] if t[0].startswith("T-HAILAN")] == [
            (1, "catalog:database:create"), (2, "catalog:database:update"),
        ]

    def test_progress_is_reported_after_each_chunk(self, world, monkeypatch):
        monkeypatch.setattr(service, "SAVE_CHUNK", 2)
        reports: list[tuple[int, int]] = []
        entries = [complete_entry(f"T-TIEN-{i}", world.land.code) for i in range(5)]
        service.save_entries(world.db, world.a_editor, entries, progress=lambda *report: reports.append(report))
        assert reports == [(2, 5), (4, 5), (5, 5)]

    def test_one_refused_entry_saves_nothing(self, world):
        _saved_before(world)
        bad = complete_entry("T-SAI", world.land.code)
        bad.categories[0].elements[0].code_list = "khong-co-danh-muc"
        with pytest.raises(Invalid) as alone:
            service.save_entry(world.db, world.a_editor, dataclasses.replace(bad))
        databases, events = _count(world.db, Database), _count(world.db, AuditEvent)

        with pytest.raises(service.EntryRefused) as excinfo:
            service.save_entries(world.db, world.a_editor, [
                complete_entry("T-MOT", world.land.code),
                complete_entry("T-DOI", world.land.code, purpose="Không được lưu"),
                bad,
            ])

        refused = excinfo.value
        assert (refused.index, refused.entry_code, refused.status) == (2, "T-SAI", 422)
        assert refused.body() == alone.value.body()
        assert (_count(world.db, Database), _count(world.db, AuditEvent)) == (databases, events)
        unchanged = service.find(world.db, "T-DOI")
        assert unchanged is not None and unchanged.purpose == complete_entry("T-DOI", "").purpose

    def test_an_entry_of_another_agency_is_refused_as_save_entry_refuses_it(self, world):
        _saved_before(world)
        with pytest.raises(service.EntryRefused) as excinfo:
            service.save_entries(world.db, world.finance_editor, [
                complete_entry("T-TAICHINH", world.finance.code),
                complete_entry("T-DOI", world.finance.code),
            ])
        assert (excinfo.value.index, excinfo.value.status) == (1, 403)
        assert isinstance(excinfo.value.reason, Forbidden)
        assert service.find(world.db, "T-TAICHINH") is None

    def test_the_number_of_statements_does_not_grow_with_the_batch(self, world):
        _saved_before(world)

        def statements(count: int, prefix: str) -> int:
            entries = [complete_entry(f"{prefix}-{i}", world.land.code) for i in range(count)]
            entries += [complete_entry("T-DOI", world.land.code, purpose=f"Mục đích {prefix}")]
            world.db.expire_all()  # both calls load the saved entry afresh
            seen: list[str] = []

            def listener(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
                seen.append(statement)

            connection = world.db.connection()
            event.listen(connection, "before_cursor_execute", listener)
            try:
                service.save_entries(world.db, world.a_editor, entries)
                world.db.flush()
            finally:
                event.remove(connection, "before_cursor_execute", listener)
            return len(seen)

        few, many = statements(2, "T-IT"), statements(12, "T-NHIEU")
        # Rows of a table, audit events included, go in one executemany per flush.
        assert many == few


def _count(db: Session, model: type[Any]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0
