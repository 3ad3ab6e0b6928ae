# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agency rules: search, create, update, focal points, merge, retire, demo data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import actor_of, make_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dulieuso.agencies import interfaces, service
from dulieuso.agencies.models import Agency, AgencyType, FocalPoint
from dulieuso.audit.models import AuditEvent
from dulieuso.audit.service import EventTag
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.errors import Conflict, Forbidden, Invalid, Unauthorized

from .conftest import NewAgency, active_focal_points, focal_point_input

TODAY = date.today()


def events(
    db: Session, tag: EventTag, subject: Agency | FocalPoint | None = None
) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.tag == tag.value)
    if subject is not None:
        stmt = stmt.where(AuditEvent.subject_id == str(subject.id))
    return list(db.scalars(stmt))


def codes(views: list[service.AgencyView]) -> list[str]:
    return [v.code for v in views]


class TestSearch:
    def test_folded_query_finds_the_agency_whatever_the_diacritics(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        finance = new_agency("Sở Tài chính tỉnh Lai Châu", short_name="Sở Tài chính")
        new_agency("Sở Tài nguyên và Môi trường tỉnh Lai Châu")
        new_agency("Sở Y tế tỉnh Lai Châu")

        for q in ("so tai chinh", "SỞ TÀI CHÍNH", "tai chinh so"):
            found, total = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(q=q))
            assert codes(found) == [finance.code], q
            assert total == 1

    def test_short_name_matches_without_its_punctuation(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        science = new_agency("Sở Khoa học và Công nghệ", short_name="Sở KH&CN")

        found, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(q="khcn"))

        assert codes(found) == [science.code]

    def test_wildcards_in_the_query_are_taken_literally(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        new_agency("Sở Tư pháp")

        found, total = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(q="%"))

        assert (found, total) == ([], 0)

    def test_status_filter_separates_current_and_former_agencies(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        current = new_agency("Sở Xây dựng")
        former = new_agency(
            "Sở Giao thông vận tải",
            valid_to=TODAY - timedelta(days=30),
            valid_from=date(2000, 1, 1),
        )
        query = {"q": "so"}

        active, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(**query))
        old, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(status="former", **query))
        both, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(status="all", **query))

        assert current.code in codes(active) and former.code not in codes(active)
        assert codes(old) == [former.code]
        assert {current.code, former.code} <= set(codes(both))

    def test_list_starts_with_the_province_and_ends_with_outside_parties(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        ministry = new_agency("Bộ Tài chính", type=AgencyType.MINISTRY)
        commune = new_agency("UBND xã Bình Lư", type=AgencyType.COMMUNE_COMMITTEE)
        department = new_agency("Sở Công Thương")
        province = new_agency("UBND tỉnh Thử nghiệm", type=AgencyType.PROVINCIAL_COMMITTEE)
        unit = new_agency("Trung tâm Chuyển đổi số", type=AgencyType.PUBLIC_UNIT)

        found, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(limit=500))
        order = [
            c
            for c in codes(found)
            if c in {ministry.code, commune.code, department.code, province.code, unit.code}
        ]

        assert order == [province.code, department.code, unit.code, commune.code, ministry.code]

    def test_filters_by_type_and_parent(self, db: Session, new_agency: NewAgency) -> None:
        parent = new_agency("Sở Khoa học và Công nghệ")
        child = new_agency(
            "Trung tâm Chuyển đổi số", type=AgencyType.PUBLIC_UNIT, parent_code=parent.code
        )

        by_parent, _ = service.list_agencies(db, ANONYMOUS, service.AgencyQuery(parent=parent.code))
        by_type, _ = service.list_agencies(
            db, ANONYMOUS, service.AgencyQuery(type="don_vi_su_nghiep")
        )

        assert codes(by_parent) == [child.code]
        assert child.code in codes(by_type) and parent.code not in codes(by_type)

    def test_bad_filters_are_reported_per_field(self, db: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.list_agencies(
                db,
                ANONYMOUS,
                service.AgencyQuery(status="gone", type="bank", parent="NOPE", limit=501),
            )

        assert set(caught.value.fields) == {"status", "type", "parent", "limit"}

    def test_tree_nests_active_sub_agencies_under_their_parent(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        parent = new_agency("Sở Khoa học và Công nghệ")
        child = new_agency(
            "Trung tâm Chuyển đổi số", type=AgencyType.PUBLIC_UNIT, parent_code=parent.code
        )

        roots = service.tree(db, ANONYMOUS)
        node = next(n for n in roots if n.agency.code == parent.code)

        assert [c.agency.code for c in node.children] == [child.code]
        assert child.code not in [n.agency.code for n in roots]


class TestCreate:
    def test_new_agency_is_searchable_and_audited(self, db: Session) -> None:
        agency = service.create_agency(
            db,
            SYSTEM,
            service.AgencyInput(
                code="lcu-stc",
                name_vi="Sở Tài chính",
                name_en="Department of Finance",
                type="co_quan_chuyen_mon",
                phone="+84 213 3876 543",
                website="https://stc.laichau.gov.vn",
            ),
        )

        assert agency.code == "LCU-STC"
        assert agency.phone == "02133876543"
        assert (
            "so tai chinh" in agency.search_text and "department of finance" in agency.search_text
        )
        [event] = events(db, EventTag.AGENCY_CREATE, agency)
        assert event.changes["diff"]["name_vi"] == [None, "Sở Tài chính"]
        db.commit()  # the audit guard is satisfied

    def test_every_bad_field_is_reported_at_once(self, db: Session) -> None:
        data = service.AgencyInput(
            code="x",
            name_vi=" ",
            type="bank",
            website="ftp://example.vn",
            email="not-an-email",
            phone="12345",
            parent_code="NOPE",
        )

        with pytest.raises(Invalid) as caught:
            service.create_agency(db, SYSTEM, data)

        assert set(caught.value.fields) == {
            "code",
            "name_vi",
            "type",
            "website",
            "email",
            "phone",
            "parent_code",
        }

    def test_code_must_be_unique(self, db: Session, new_agency: NewAgency) -> None:
        new_agency(code="LCU-SYT")

        with pytest.raises(Invalid) as caught:
            new_agency(code="lcu-syt")

        assert caught.value.fields["code"][0].en == "An agency with code LCU-SYT already exists."

    def test_parent_must_be_a_current_agency(self, db: Session, new_agency: NewAgency) -> None:
        former = new_agency(valid_from=date(2000, 1, 1), valid_to=date(2025, 3, 1))

        with pytest.raises(Invalid) as caught:
            new_agency(parent_code=former.code)

        assert "parent_code" in caught.value.fields

    def test_only_the_platform_administrator_creates_agencies(self, db: Session) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)

        with pytest.raises(Forbidden):
            service.create_agency(
                db,
                actor_of(admin),
                service.AgencyInput(code="LCU-NEW", name_vi="Sở Mới", type="co_quan_chuyen_mon"),
            )


class TestUpdate:
    def test_rename_notes_the_old_name_and_is_audited(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency("Sở Thông tin và Truyền thông")

        service.update_agency(db, SYSTEM, agency, {"name_vi": "Sở Khoa học và Công nghệ"})

        assert (
            agency.history_note
            == f"{TODAY:%d/%m/%Y}: Sở Thông tin và Truyền thông → Sở Khoa học và Công nghệ"
        )
        assert "so khoa hoc va cong nghe" in agency.search_text
        [event] = events(db, EventTag.AGENCY_UPDATE, agency)
        assert event.changes["diff"]["name_vi"] == [
            "Sở Thông tin và Truyền thông",
            "Sở Khoa học và Công nghệ",
        ]

    def test_an_agency_cannot_move_under_its_own_sub_agency(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        parent = new_agency()
        child = new_agency(parent_code=parent.code)
        grandchild = new_agency(parent_code=child.code)

        with pytest.raises(Invalid) as caught:
            service.update_agency(db, SYSTEM, parent, {"parent_code": grandchild.code})

        assert "parent_code" in caught.value.fields

    def test_agency_administrator_changes_contact_details_of_own_agency(self, db: Session) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None

        service.update_agency(
            db, actor_of(admin), agency, {"phone": "0213 3876 543", "email": "STC@LaiChau.gov.vn"}
        )

        assert (agency.phone, agency.email) == ("02133876543", "stc@laichau.gov.vn")

    def test_agency_administrator_cannot_rename_own_agency(self, db: Session) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None

        with pytest.raises(Forbidden):
            service.update_agency(db, actor_of(admin), agency, {"name_vi": "Tên khác"})

    def test_agency_administrator_cannot_edit_another_agency(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        other = new_agency()

        with pytest.raises(Forbidden):
            service.update_agency(db, actor_of(admin), other, {"phone": "0912345678"})

    def test_saving_unchanged_values_records_nothing(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency("Sở Y tế", phone="0912345678")

        service.update_agency(db, SYSTEM, agency, {"name_vi": "Sở Y tế", "phone": "0912 345 678"})

        assert events(db, EventTag.AGENCY_UPDATE, agency) == []


class TestFocalPoint:
    def test_new_focal_point_closes_the_old_one_and_one_stays_active(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        first = service.assign_focal_point(
            db, SYSTEM, agency, focal_point_input("Lò Văn Thắng", valid_from=date(2025, 7, 1))
        )

        second = service.assign_focal_point(
            db, SYSTEM, agency, focal_point_input("Tẩn Thị Mai", valid_from=date(2025, 9, 1))
        )
        db.commit()

        assert first.valid_to == date(2025, 9, 1)
        assert active_focal_points(db, agency) == [second]
        assert service.current_focal_point(db, ANONYMOUS, agency) is second
        assert len(events(db, EventTag.FOCAL_POINT_CLOSE, first)) == 1
        assert len(events(db, EventTag.FOCAL_POINT_ASSIGN, second)) == 1
        history = service.focal_point_history(db, SYSTEM, agency)
        assert [p.name for p in history] == ["Tẩn Thị Mai", "Lò Văn Thắng"]

    def test_the_database_also_refuses_two_active_focal_points(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        service.assign_focal_point(db, SYSTEM, agency, focal_point_input())

        db.add(
            FocalPoint(
                agency_id=agency.id,
                full_name="X",
                position="X",
                function="X",
                phone="0912345678",
                email="x@laichau.gov.vn",
                valid_from=TODAY,
            )
        )
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()

    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("0912 345 678", "0912345678"),
            ("+84 912 345 678", "0912345678"),
            ("0213.3876.543", "02133876543"),
            ("(024) 3825 1234", "02438251234"),
        ],
    )
    def test_vietnamese_phone_numbers_are_accepted(
        self, db: Session, new_agency: NewAgency, given: str, stored: str
    ) -> None:
        point = service.assign_focal_point(db, SYSTEM, new_agency(), focal_point_input(phone=given))

        assert point.phone == stored

    @pytest.mark.parametrize(
        "phone", ["12345", "0112345678", "091234567", "+1 202 555 0100", "0213387654", ""]
    )
    def test_other_phone_numbers_are_refused(
        self, db: Session, new_agency: NewAgency, phone: str
    ) -> None:
        with pytest.raises(Invalid) as caught:
            service.assign_focal_point(db, SYSTEM, new_agency(), focal_point_input(phone=phone))

        assert list(caught.value.fields) == ["phone"]

    def test_missing_fields_and_future_start_are_refused(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        data = focal_point_input(
            full_name="", position="", function="", email="x", valid_from=TODAY + timedelta(days=1)
        )

        with pytest.raises(Invalid) as caught:
            service.assign_focal_point(db, SYSTEM, new_agency(), data)

        assert set(caught.value.fields) == {
            "full_name",
            "position",
            "function",
            "email",
            "valid_from",
        }

    def test_start_before_the_current_focal_point_is_refused(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        service.assign_focal_point(
            db, SYSTEM, agency, focal_point_input(valid_from=date(2025, 7, 1))
        )

        with pytest.raises(Invalid) as caught:
            service.assign_focal_point(
                db, SYSTEM, agency, focal_point_input(valid_from=date(2025, 6, 1))
            )

        assert "valid_from" in caught.value.fields

    def test_agency_administrator_assigns_only_for_own_agency(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        own = db.get(Agency, admin.agency_id)
        assert own is not None

        service.assign_focal_point(db, actor_of(admin), own, focal_point_input())
        with pytest.raises(Forbidden):
            service.assign_focal_point(db, actor_of(admin), new_agency(), focal_point_input())


class TestMerge:
    def test_merge_ends_sources_moves_staff_and_records_audit_events(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        successor = new_agency("Sở Khoa học và Công nghệ")
        ict = new_agency("Sở Thông tin và Truyền thông")
        other = new_agency("Sở Khoa học cũ")
        staff = [
            make_user(db, Role.AGENCY_EDITOR, agency=ict),
            make_user(db, Role.AGENCY_ADMIN, agency=ict),
        ]
        staff.append(make_user(db, Role.AGENCY_EDITOR, agency=other))
        old_point = service.assign_focal_point(db, SYSTEM, ict, focal_point_input())
        effective = TODAY - timedelta(days=10)

        result = service.merge_agencies(
            db,
            SYSTEM,
            source_codes=[ict.code, other.code],
            successor_code=successor.code,
            effective=effective,
        )
        db.commit()  # the audit guard accepts the transaction

        own = ("users", "sub_agencies")
        assert {code: {k: counts[k] for k in own} for code, counts in result.moved.items()} == {
            ict.code: {"users": 2, "sub_agencies": 0},
            other.code: {"users": 1, "sub_agencies": 0},
        }
        assert {u.agency_id for u in staff} == {successor.id}
        for source in (ict, other):
            assert (source.valid_to, source.successor_id) == (effective, successor.id)
            assert not service.is_active(source)
        assert old_point.valid_to == effective
        [handover] = events(db, EventTag.AGENCY_HANDOVER, ict)
        assert handover.changes["details"]["moved"]["users"] == 2
        assert handover.changes["details"]["moved"]["sub_agencies"] == 0
        assert handover.changes["details"]["successor"] == successor.code
        assert sorted(handover.changes["details"]["users"]) == sorted(u.email for u in staff[:2])
        [merged] = events(db, EventTag.AGENCY_MERGE, ict)
        assert merged.changes["diff"]["successor_id"] == [None, str(successor.id)]
        [on_successor] = events(db, EventTag.AGENCY_MERGE, successor)
        assert on_successor.changes["details"]["merged_in"] == [ict.code, other.code]
        assert len(events(db, EventTag.FOCAL_POINT_CLOSE, old_point)) == 1

    def test_active_sub_agencies_move_under_the_successor(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        successor, source = new_agency(), new_agency()
        child = new_agency(type=AgencyType.PUBLIC_UNIT, parent_code=source.code)

        service.merge_agencies(
            db, SYSTEM, source_codes=[source.code], successor_code=successor.code
        )

        assert child.parent_id == successor.id
        [moved] = events(db, EventTag.AGENCY_UPDATE, child)
        assert moved.changes["diff"]["parent_id"] == [str(source.id), str(successor.id)]

    def test_registered_handovers_run_for_each_source(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        successor, first, second = new_agency(), new_agency(), new_agency()
        seen: list[tuple[str, str]] = []

        def hand_over_databases(session: Session, actor: object, source: Agency, to: Agency) -> int:
            seen.append((source.code, to.code))
            return 3

        interfaces.register_handover("databases", hand_over_databases)
        try:
            result = service.merge_agencies(
                db, SYSTEM, source_codes=[first.code, second.code], successor_code=successor.code
            )
        finally:
            interfaces.unregister_handover("databases")

        assert seen == [(first.code, successor.code), (second.code, successor.code)]
        assert result.moved[first.code]["databases"] == 3
        [handover] = events(db, EventTag.AGENCY_HANDOVER, second)
        assert handover.changes["details"]["moved"]["databases"] == 3

    def test_a_second_handover_under_a_taken_name_is_refused(self) -> None:
        with pytest.raises(ValueError):
            interfaces.register_handover("users", lambda *args: 0)

    def test_agency_administrator_cannot_merge(self, db: Session, new_agency: NewAgency) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        own = db.get(Agency, admin.agency_id)
        assert own is not None

        with pytest.raises(Forbidden):
            service.merge_agencies(
                db, actor_of(admin), source_codes=[own.code], successor_code=new_agency().code
            )

    @pytest.mark.parametrize(
        "case",
        [
            "successor_is_source",
            "former_successor",
            "unknown_source",
            "future_date",
            "child_successor",
        ],
    )
    def test_impossible_merges_are_refused(
        self, db: Session, new_agency: NewAgency, case: str
    ) -> None:
        source = new_agency()
        successor = new_agency()
        sources, effective = [source.code], TODAY
        if case == "successor_is_source":
            sources.append(successor.code)
        elif case == "former_successor":
            successor = new_agency(valid_from=date(2000, 1, 1), valid_to=date(2020, 1, 1))
        elif case == "unknown_source":
            sources.append("NOPE")
        elif case == "future_date":
            effective = TODAY + timedelta(days=1)
        elif case == "child_successor":
            successor = new_agency(parent_code=source.code)

        with pytest.raises(Invalid):
            service.merge_agencies(
                db, SYSTEM, source_codes=sources, successor_code=successor.code, effective=effective
            )

        assert service.is_active(source)


class TestRetire:
    def test_retire_is_refused_while_staff_or_sub_agencies_remain(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        user = make_user(db, Role.AGENCY_EDITOR, agency=agency)
        child = new_agency(parent_code=agency.code)

        with pytest.raises(Conflict) as caught:
            service.retire_agency(db, SYSTEM, agency)

        assert caught.value.extra == {"users": [user.email], "children": [child.code]}
        assert user.email in caught.value.fields["users"][0].en
        assert child.code in caught.value.fields["children"][0].en
        assert service.is_active(agency)

    def test_retiring_an_empty_agency_ends_it_and_its_focal_point(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        point = service.assign_focal_point(db, SYSTEM, agency, focal_point_input())
        effective = TODAY - timedelta(days=1)

        service.retire_agency(
            db, SYSTEM, agency, effective=effective, note="Quyết định số 12/QĐ-UBND"
        )
        db.commit()

        assert agency.valid_to == effective and agency.successor_id is None
        assert point.valid_to == effective
        assert agency.history_note == f"{effective:%d/%m/%Y}: Quyết định số 12/QĐ-UBND"
        assert len(events(db, EventTag.AGENCY_RETIRE, agency)) == 1
        with pytest.raises(Conflict):
            service.retire_agency(db, SYSTEM, agency)

    def test_agency_administrator_cannot_retire(self, db: Session) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        own = db.get(Agency, admin.agency_id)
        assert own is not None

        with pytest.raises(Forbidden):
            service.retire_agency(db, actor_of(admin), own)


class TestHistory:
    def test_history_holds_agency_and_focal_point_events_newest_first(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        service.assign_focal_point(db, SYSTEM, agency, focal_point_input())

        entries = service.history(db, SYSTEM, agency)

        assert {e.tag for e in entries} == {
            EventTag.AGENCY_CREATE.value,
            EventTag.FOCAL_POINT_ASSIGN.value,
        }
        assert entries == sorted(entries, key=lambda e: e.at, reverse=True)

    def test_history_needs_a_login_and_the_right_agency(
        self, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        outsider = make_user(db, Role.AGENCY_EDITOR)
        insider = make_user(db, Role.AGENCY_EDITOR, agency=agency)

        with pytest.raises(Unauthorized):
            service.history(db, ANONYMOUS, agency)
        with pytest.raises(Forbidden):
            service.history(db, actor_of(outsider), agency)
        assert service.history(db, actor_of(insider), agency)


class TestDemoData:
    def test_loading_twice_changes_nothing_the_second_time(self, db: Session) -> None:
        first = service.load_demo(db, SYSTEM)
        db.commit()
        audit_count = db.scalar(select(func.count()).select_from(AuditEvent))
        agency_count = db.scalar(select(func.count()).select_from(Agency))

        second = service.load_demo(db, SYSTEM)
        db.commit()

        assert first > 69 and second == 0
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == audit_count
        assert db.scalar(select(func.count()).select_from(Agency)) == agency_count

    def test_demo_data_keeps_the_sourced_history(self, db: Session) -> None:
        service.load_demo(db, SYSTEM)

        science = service.get_by_code(db, "LCU-SKHCN")
        ict = service.get_by_code(db, "LCU-STTTT")
        ethnic = service.get_by_code(db, "LCU-BDT")
        district = service.get_by_code(db, "LCU-D105")
        assert science.is_it_unit and service.it_unit(db) is science
        assert (ict.successor_id, ict.valid_to) == (science.id, None) and not service.is_active(ict)
        assert (ethnic.valid_to, ethnic.successor_id) == (
            date(2025, 2, 28),
            service.get_by_code(db, "LCU-SDTTG").id,
        )
        assert (district.valid_to, district.successor_id) == (date(2025, 6, 30), None)
        assert service.get_by_code(db, "LCU-STC").name_en == "Department of Finance"
        assert service.get_by_code(db, "P-15").type is AgencyType.OTHER_PROVINCE

    def test_every_current_department_has_a_focal_point(self, db: Session) -> None:
        service.load_demo(db, SYSTEM)

        departments, _ = service.list_agencies(
            db, SYSTEM, service.AgencyQuery(type=AgencyType.DEPARTMENT, limit=500)
        )
        communes, _ = service.list_agencies(
            db, SYSTEM, service.AgencyQuery(type=AgencyType.COMMUNE_COMMITTEE, limit=500)
        )
        assert departments and all(d.focal_point for d in departments)
        assert sum(1 for c in communes if c.focal_point) >= 10
        assert (
            service.current_focal_point(db, ANONYMOUS, service.get_by_code(db, "LCU")) is not None
        )

    def test_merge_moves_demo_staff_like_any_other(self, db: Session) -> None:
        service.load_demo(db, SYSTEM)
        finance = service.get_by_code(db, "LCU-STC")
        user = make_user(db, Role.AGENCY_EDITOR, agency=finance)

        service.merge_agencies(db, SYSTEM, source_codes=["LCU-STC"], successor_code="LCU-SNV")
        db.commit()

        assert db.get(User, user.id).agency_id == service.get_by_code(db, "LCU-SNV").id  # type: ignore[union-attr]
