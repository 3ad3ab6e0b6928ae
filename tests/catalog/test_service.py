# SPDX-License-Identifier: AGPL-3.0-or-later
"""The catalog's rules: saving, the workflow, publishing, issuing and re-issuing."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.orm import Session
from sqlalchemy import func, select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.catalog import issues, lists, search, service
from dulieuso.catalog.entries import CategoryData, ElementData, entry_data_from_dict
from dulieuso.catalog.models import (
    CatalogIssue,
    DataCategory,
    ElementType,
    EntryStatus,
    Importance,
    ListKind,
    SharingForm,
    SharingScope,
    UserType,
)
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

from .conftest import complete_entry, matrix

ISSUE = issues.IssueInput(decision_number="01/QĐ-UBND (thử nghiệm)", decision_date="2026-01-15", signer="Lê Văn Ký")


class TestSaveEntry:
    def test_creates_a_draft_with_search_text_and_revision_1(self, world):
        result = service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        assert result.created and result.changed
        database = result.database
        assert database.status is EntryStatus.DRAFT
        assert database.revision == 1
        assert "dat dai" in database.search_text
        assert "so hieu thua" in database.search_text
        assert "nong nghiep" in database.search_text  # agency name

    def test_code_is_normalised_to_upper_case(self, world):
        result = service.save_entry(world.db, world.a_editor, complete_entry("t-datdai", world.land.code))
        assert result.database.code == "T-DATDAI"

    def test_second_save_with_changes_bumps_revision_and_records_the_category_change(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        data = complete_entry("T-DATDAI", world.land.code)
        data.categories[0].elements[1].unit = "ha"
        result = service.save_entry(world.db, world.a_editor, data)
        assert result.database.revision == 2
        event = world.db.scalars(
            select(AuditEvent).where(AuditEvent.tag == "catalog:database:update")
        ).one()
        assert event.changes["diff"] == {"categories[Thửa đất].elements[Diện tích].unit": ["m2", "ha"]}

    def test_saving_the_same_content_changes_nothing(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        result = service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        assert not result.changed
        assert result.database.revision == 1

    def test_categories_keep_their_ids_across_saves(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        ids = set(world.db.scalars(select(DataCategory.id)))
        data = complete_entry("T-DATDAI", world.land.code, name="CSDL đất đai (sửa)")
        service.save_entry(world.db, world.a_editor, data)
        world.db.commit()
        assert set(world.db.scalars(select(DataCategory.id))) == ids

    def test_duplicate_code_on_create_is_a_located_conflict(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        with pytest.raises(Conflict) as raised:
            service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code), mode="create")
        assert "code" in raised.value.fields

    def test_bad_input_is_reported_by_field_and_nothing_is_saved(self, world):
        data = complete_entry("bad code!", "NO-SUCH-AGENCY", importance=Importance.CORE, systems=["NO-SYS"])
        data.categories[1].elements[0].code_list = "khong-co"
        data.categories.append(CategoryData(name="Thửa đất"))
        with pytest.raises(Invalid) as raised:
            service.save_entry(world.db, world.a_admin, data)
        fields = raised.value.fields
        assert set(fields) >= {
            "code", "owner_agency", "decision20_item", "systems[0]",
            "categories[1].elements[0].code_list", "categories[2].name",
        }
        assert world.db.scalar(select(func.count()).select_from(DataCategory)) == 0

    def test_a_state_secret_database_is_refused_as_open(self, world):
        data = complete_entry("T-MAT", world.land.code, contains_state_secret=True, sharing_scope=SharingScope.OPEN)
        with pytest.raises(Invalid) as raised:
            service.save_entry(world.db, world.a_editor, data)
        assert "sharing_scope" in raised.value.fields
        assert "categories[0].availability.organisations" in raised.value.fields

    def test_personal_data_cannot_be_open(self, world):
        data = complete_entry("T-DATDAI", world.land.code)
        data.categories[1].availability[UserType.INDIVIDUALS] = SharingForm.OPEN_DATA
        with pytest.raises(Invalid) as raised:
            service.save_entry(world.db, world.a_editor, data)
        assert list(raised.value.fields) == ["categories[1].availability.individuals"]

    def test_master_data_not_shared_by_default_gets_a_suggestion(self, world):
        data = complete_entry("T-DATDAI", world.land.code)
        data.categories[0].availability = matrix(*[SharingForm.SPECIAL_REQUEST] * 5)
        result = service.save_entry(world.db, world.a_editor, data)
        assert [n.field for n in result.notices] == ["categories[0].availability"]

    def test_empty_contact_defaults_to_the_focal_point(self, world):
        from dulieuso.agencies.models import FocalPoint
        from datetime import date

        world.db.add(FocalPoint(agency_id=world.land.id, full_name="Lò Văn Mười", position="Phó phòng",
                                function="Đầu mối", phone="0213 3876 543", email="dau.moi@example.vn",
                                valid_from=date(2025, 1, 1)))
        result = service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        assert result.database.contact_name == "Lò Văn Mười"
        assert result.database.contact_email == "dau.moi@example.vn"

    def test_an_editor_edits_only_their_own_agencys_entries(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        other = world.finance_editor
        with pytest.raises(Forbidden):
            service.save_entry(world.db, other, complete_entry("T-DATDAI", world.land.code))
        with pytest.raises(Forbidden):
            service.save_entry(world.db, other, complete_entry("T-MOI", world.land.code))
        with pytest.raises(Forbidden):  # cannot take it over by naming their own agency
            service.save_entry(world.db, other, complete_entry("T-DATDAI", world.finance.code))

    def test_an_approver_and_a_citizen_cannot_edit(self, world):
        with pytest.raises(Forbidden):
            service.save_entry(world.db, world.land_approver, complete_entry("T-X", world.land.code))
        with pytest.raises(Forbidden):
            service.save_entry(world.db, world.citizen, complete_entry("T-X", world.land.code))

    def test_entry_dict_round_trips_through_entry_data(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        database = service.find(world.db, "T-DATDAI")
        entry = service.to_dict(world.db, database)
        again = service.save_entry(world.db, world.a_editor, entry_data_from_dict(entry))
        assert not again.changed


class TestWorkflow:
    def test_missing_fields_at_submission_are_each_named(self, world):
        data = complete_entry("T-DATDAI", world.land.code, purpose="", data_sources="", level=None)
        data.categories.append(CategoryData(name="Trống", availability={UserType.INDIVIDUALS: SharingForm.NOT_SHARED}))
        service.save_entry(world.db, world.a_editor, data)
        with pytest.raises(Invalid) as raised:
            service.submit(world.db, world.a_editor, "T-DATDAI")
        fields = raised.value.fields
        assert {"purpose", "data_sources", "level", "categories[2].elements"} <= set(fields)
        assert "name" not in fields

    def test_submit_comment_request_changes_resubmit_accept(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        assert service.submit(world.db, world.a_editor, "T-DATDAI").status is EntryStatus.SUBMITTED
        service.add_comment(world.db, world.a_admin, "T-DATDAI", "purpose", "Nêu rõ mục đích chia sẻ.")
        database = service.request_changes(world.db, world.a_admin, "T-DATDAI")
        assert database.status is EntryStatus.CHANGES_REQUESTED
        queue = service.review_queue(world.db, world.a_editor)
        assert [r.code for r in queue.waiting_on_agency] == ["T-DATDAI"]
        assert queue.waiting_on_agency[0].open_comments == 1
        service.submit(world.db, world.a_editor, "T-DATDAI")
        assert [r.code for r in service.review_queue(world.db, world.a_admin).waiting_on_it_unit] == ["T-DATDAI"]
        assert service.accept(world.db, world.a_admin, "T-DATDAI").status is EntryStatus.ACCEPTED
        world.db.commit()  # the audit guard is satisfied

    def test_request_changes_needs_a_reason(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        service.submit(world.db, world.a_editor, "T-DATDAI")
        with pytest.raises(Invalid):
            service.request_changes(world.db, world.a_admin, "T-DATDAI")

    def test_agency_staff_cannot_review(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        service.submit(world.db, world.a_editor, "T-DATDAI")
        with pytest.raises(Forbidden):
            service.accept(world.db, world.land_admin, "T-DATDAI")

    def test_accepting_twice_is_a_conflict(self, world):
        world.accepted("T-DATDAI")
        with pytest.raises(Conflict):
            service.accept(world.db, world.a_admin, "T-DATDAI")

    def test_other_agencies_and_the_public_do_not_see_drafts(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        with pytest.raises(NotFound):
            service.detail(world.db, world.finance_editor, "T-DATDAI")
        with pytest.raises(NotFound):
            service.detail(world.db, ANONYMOUS, "T-DATDAI")
        assert service.detail(world.db, world.a_editor, "T-DATDAI").working

    def test_editing_an_accepted_entry_keeps_the_public_version(self, world):
        world.accepted("T-DATDAI")
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code, name="Tên mới"))
        public = service.detail(world.db, ANONYMOUS, "T-DATDAI")
        assert public.entry["name"] == "Cơ sở dữ liệu đất đai tỉnh Lai Châu"
        assert service.find(world.db, "T-DATDAI").status is EntryStatus.DRAFT

    def test_withdraw_removes_from_public_and_delete_needs_withdraw(self, world):
        world.accepted("T-DATDAI")
        with pytest.raises(Conflict):
            service.delete_entry(world.db, world.a_editor, "T-DATDAI")
        service.withdraw(world.db, world.a_editor, "T-DATDAI")
        with pytest.raises(NotFound):
            service.detail(world.db, ANONYMOUS, "T-DATDAI")
        service.delete_entry(world.db, world.a_editor, "T-DATDAI")
        world.db.commit()
        assert service.find(world.db, "T-DATDAI") is None

    def test_a_secret_database_is_accepted_but_never_public(self, world):
        world.accepted("T-MAT", contains_state_secret=True, name="Cơ sở dữ liệu mật đất đai",
                       categories=[CategoryData(name="Hồ sơ", elements=[ElementData(name="Số hồ sơ", data_type=ElementType.TEXT)],
                                                availability=matrix(*[SharingForm.NOT_SHARED] * 5))])
        with pytest.raises(NotFound):
            service.detail(world.db, ANONYMOUS, "T-MAT")
        assert search.search_databases(world.db, ANONYMOUS, q="mat dat dai").total == 0


class TestSearch:
    def test_ignores_diacritics_and_case_and_finds_by_agency_name(self, world):
        world.accepted("T-DATDAI")
        world.accepted("T-NGANSACH", name="Cơ sở dữ liệu ngân sách", purpose="Quản lý ngân sách", content="Dự toán")
        for q in ("dat dai", "ĐẤT ĐAI", "Dat  Dai", "đất đai"):
            assert [h.code for h in search.search_databases(world.db, ANONYMOUS, q=q).items] == ["T-DATDAI"], q
        assert [h.code for h in search.search_databases(world.db, ANONYMOUS, q="ngan sa").items] == ["T-NGANSACH"]
        hits = search.search_databases(world.db, ANONYMOUS, q="so nong nghiep va moi truong")
        assert {h.code for h in hits.items} == {"T-DATDAI", "T-NGANSACH"}

    def test_name_matches_rank_above_element_matches(self, world):
        world.accepted("T-DATDAI")
        world.accepted("T-DIENTICH", name="Diện tích rừng", content="Rừng tự nhiên")
        hits = search.search_databases(world.db, ANONYMOUS, q="dien tich")
        assert [h.code for h in hits.items] == ["T-DIENTICH", "T-DATDAI"]

    def test_facets_count_the_result_set(self, world):
        world.accepted("T-DATDAI")
        world.accepted("T-RUNG", name="Rừng", importance=Importance.IMPORTANT, decision20_item="Mục 12")
        result = search.search_databases(world.db, ANONYMOUS)
        assert result.total == 2
        assert {f["value"]: f["count"] for f in result.facets["importance"]} == {"other": 1, "important": 1}
        assert {f["value"]: f["count"] for f in result.facets["sharing_form"]}["open_data"] == 2
        assert result.facets["agency"] == [{"value": "T-SNNMT", "label": world.land.name_vi, "count": 2}]
        only = search.search_databases(world.db, ANONYMOUS, importance="important")
        assert [h.code for h in only.items] == ["T-RUNG"]

    def test_drafts_are_not_found(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        assert search.search_databases(world.db, ANONYMOUS, q="dat dai").total == 0

    def test_every_change_is_seen_by_the_next_search(self, world):
        world.accepted("T-DATDAI")
        assert search.search_databases(world.db, ANONYMOUS, q="ngan sach").total == 0  # loads the in-memory index
        world.accepted("T-NGANSACH", name="Cơ sở dữ liệu ngân sách", purpose="Quản lý ngân sách", content="Dự toán")
        assert [h.code for h in search.search_databases(world.db, ANONYMOUS, q="ngan sach").items] == ["T-NGANSACH"]
        service.withdraw(world.db, world.a_editor, "T-NGANSACH")
        assert search.search_databases(world.db, ANONYMOUS, q="ngan sach").total == 0
        world.db.commit()
        # Another session (another request, on the same engine) sees the committed state.
        with Session(world.db.get_bind()) as other:
            assert [h.code for h in search.search_databases(other, ANONYMOUS).items] == ["T-DATDAI"]

    def test_a_rolled_back_change_is_never_served(self, world):
        world.accepted("T-DATDAI")
        world.db.commit()
        world.accepted("T-NGANSACH", name="Cơ sở dữ liệu ngân sách", purpose="Quản lý ngân sách", content="Dự toán")
        assert search.search_databases(world.db, ANONYMOUS, q="ngan sach").total == 1  # its own uncommitted change
        world.db.rollback()
        assert search.search_databases(world.db, ANONYMOUS, q="ngan sach").total == 0
        assert search.search_databases(world.db, ANONYMOUS).total == 1

    def test_browse_orders_by_name_with_diacritics_folded(self, world):
        for code, name in (("T-GIAODUC", "Giáo dục"), ("T-DATDAI", "Đất đai"), ("T-DANCU", "Dân cư"), ("T-YTE", "Y tế")):
            world.accepted(code, name=name)
        assert [h.name for h in search.search_databases(world.db, ANONYMOUS).items] == ["Dân cư", "Đất đai", "Giáo dục", "Y tế"]
        assert [h.name for h in search.search_databases(world.db, ANONYMOUS, limit=2, offset=1).items] == ["Đất đai", "Giáo dục"]

    def test_bad_filters_are_located(self, world):
        with pytest.raises(Invalid) as raised:
            search.search_databases(world.db, ANONYMOUS, level="galactic", limit=0)
        assert set(raised.value.fields) == {"level", "limit"}


class TestIssues:
    def test_only_the_administrator_issues(self, world):
        world.accepted("T-DATDAI")
        with pytest.raises(Forbidden):
            issues.issue_catalog(world.db, world.land_admin, ISSUE)
        with pytest.raises(Unauthorized):
            issues.issue_catalog(world.db, ANONYMOUS, ISSUE)

    def test_issue_snapshots_only_accepted_entries(self, world):
        world.accepted("T-DATDAI")
        service.save_entry(world.db, world.a_editor, complete_entry("T-NHAP", world.land.code))
        issue = issues.issue_catalog(world.db, world.a_admin, ISSUE)
        world.db.commit()
        assert issue.number == 1
        assert [e["code"] for e in issue.snapshot["entries"]] == ["T-DATDAI"]
        assert issue.snapshot["issued"]["decision_number"] == ISSUE.decision_number

    def test_nothing_to_issue_is_a_conflict(self, world):
        with pytest.raises(Conflict):
            issues.issue_catalog(world.db, world.a_admin, ISSUE)
        world.accepted("T-DATDAI")
        issues.issue_catalog(world.db, world.a_admin, ISSUE)
        with pytest.raises(Conflict):
            issues.issue_catalog(world.db, world.a_admin, ISSUE)

    def test_editing_an_included_entry_marks_needs_reissue(self, world):
        world.accepted("T-DATDAI")
        issues.issue_catalog(world.db, world.a_admin, ISSUE)
        assert not issues.needs_reissue(world.db)
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code, scope="Xã Mường Kim"))
        changes = issues.reissue_changes(world.db)
        assert [(c.code, c.change, c.state) for c in changes] == [("T-DATDAI", "changed", "pending")]
        assert issues.needs_reissue(world.db)

    def test_the_snapshot_does_not_change_when_the_entry_changes(self, world):
        world.accepted("T-DATDAI")
        issue = issues.issue_catalog(world.db, world.a_admin, ISSUE)
        world.db.commit()
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code, scope="Xã Mường Kim"))
        service.submit(world.db, world.a_editor, "T-DATDAI")
        service.accept(world.db, world.a_admin, "T-DATDAI")
        world.db.commit()
        world.db.expire_all()
        stored = world.db.get(CatalogIssue, issue.id)
        assert stored.snapshot["entries"][0]["scope"] == "Toàn tỉnh Lai Châu"
        assert stored.snapshot["entries"][0]["revision"] == 1

    def test_an_issue_cannot_be_modified(self, world):
        world.accepted("T-DATDAI")
        issue = issues.issue_catalog(world.db, world.a_admin, ISSUE)
        world.db.commit()
        issue.signer = "Người khác"
        with pytest.raises(issues.IssueImmutable):
            world.db.flush()
        world.db.rollback()

    def test_diff_shows_added_removed_and_changed_fields(self, world):
        world.accepted("T-DATDAI")
        world.accepted("T-CU", name="CSDL cũ")
        first = issues.issue_catalog(world.db, world.a_admin, ISSUE)
        data = complete_entry("T-DATDAI", world.land.code)
        data.categories[0].availability[UserType.OTHER_PROVINCES] = SharingForm.DEFAULT
        data.categories[0].elements.append(ElementData(name="Mục đích sử dụng", data_type=ElementType.TEXT))
        service.save_entry(world.db, world.a_editor, data)
        service.submit(world.db, world.a_editor, "T-DATDAI")
        service.accept(world.db, world.a_admin, "T-DATDAI")
        service.withdraw(world.db, world.a_editor, "T-CU")
        world.accepted("T-MOI", name="CSDL mới")
        second = issues.issue_catalog(
            world.db, world.a_admin, dataclasses.replace(ISSUE, decision_number="02/QĐ-UBND (thử nghiệm)")
        )
        changes = {c.code: c for c in issues.diff_issues(first, second)}
        assert changes["T-MOI"].change == "added"
        assert changes["T-CU"].change == "removed"
        changed = {f["field"]: (f["old"], f["new"]) for f in changes["T-DATDAI"].fields}
        assert changed["categories[Thửa đất].availability.other_provinces"] == ("special_request", "default")
        assert changed["categories[Thửa đất].elements[Mục đích sử dụng].data_type"] == (None, "text")
        assert issues.diff(world.db, ANONYMOUS, 1, None)["changes"] == [c.as_dict() for c in issues.diff_issues(first, second)]


class TestDerivedLists:
    def test_lists_contain_the_right_categories(self, world):
        world.accepted("T-DATDAI")
        default = lists.derived_list(world.db, ANONYMOUS, ListKind.DEFAULT_SHARING)
        assert [(i["database_code"], i["category"]) for i in default.items] == [("T-DATDAI", "Thửa đất")]
        assert default.items[0]["user_types"] == ["province_agencies", "central_agencies"]
        opened = lists.derived_list(world.db, ANONYMOUS, ListKind.OPEN_DATA)
        assert [i["category"] for i in opened.items] == ["Thửa đất"]
        assert opened.last_review is None and opened.next_review_due is None

    def test_a_review_sets_the_next_due_date_six_months_later(self, world):
        lists.review_list(world.db, world.a_admin, ListKind.OPEN_DATA, "2026-03-31")
        result = lists.derived_list(world.db, ANONYMOUS, ListKind.OPEN_DATA)
        assert result.next_review_due.isoformat() == "2026-09-30"

    def test_only_the_administrator_reviews_a_list(self, world):
        with pytest.raises(Forbidden):
            lists.review_list(world.db, world.a_editor, ListKind.OPEN_DATA)
