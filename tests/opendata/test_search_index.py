# SPDX-License-Identifier: AGPL-3.0-or-later
"""The in-memory search index never answers from stale data: every change a search can
see (tags, privacy, title, deletion, topics) is seen by the very next search, in the same
transaction and from other sessions, and a rolled-back change is not; and it lists
exactly what the SQL visibility rule lists. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.audit.service import EventTag, record
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM, Actor
from dulieuso.opendata import resources, search, search_index, service
from dulieuso.opendata.models import (
    Dataset,
    DatasetSearchChange,
    DatasetSearchState,
    DatasetState,
    DatasetTag,
    Tag,
)

from .conftest import World, staff
from .test_ckan_api import make_dataset, make_group


def found(session: Session, actor: Actor = ANONYMOUS, q: str | None = None, **kwargs: Any) -> set[uuid.UUID]:
    return set(search.search_datasets(session, actor, q, rows=1000, load=False, **kwargs).ids)


class TestChangesAreSeenAtOnce:
    def test_a_tag_change_through_the_service(self, world: World) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục",))
        assert found(world.db, tags=["giáo dục"]) == {dataset.id}
        service.update_dataset(world.db, world.editor, dataset.id, {"tags": ["y tế"]})
        assert found(world.db, tags=["giáo dục"]) == set()
        assert found(world.db, tags=["y tế"]) == {dataset.id}

    def test_a_tag_link_removed_without_touching_the_dataset_row(self, world: World) -> None:
        # Neither the number of datasets, nor the newest metadata_modified, nor the highest
        # id changes: only the dataset's change token says that its tags did.
        newer = make_dataset(world.db, world.agency, "Số lượng giáo viên", tags=("giáo dục",))
        older = make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục", "trường học"),
                             modified=newer.metadata_modified.replace(year=2020))
        assert found(world.db, tags=["trường học"]) == {older.id}
        for link in world.db.scalars(select(DatasetTag).where(DatasetTag.dataset_id == older.id)):
            world.db.delete(link)
        world.db.commit()
        assert found(world.db, tags=["trường học"]) == set()
        facet = search.search_datasets(world.db, ANONYMOUS, facet_fields=["tags"], rows=0).facets["tags"]
        assert [(i.name, i.count) for i in facet] == [("giáo dục", 1)]

    def test_making_a_dataset_private(self, world: World) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học")
        assert dataset.id in found(world.db, q="truong hoc")
        service.make_private(world.db, world.approver, dataset.id)
        assert dataset.id not in found(world.db, q="truong hoc")
        assert dataset.id in found(world.db, world.editor, q="truong hoc", include_private=True)
        assert dataset.id not in found(world.db, world.other_editor, q="truong hoc", include_private=True)

    def test_a_new_title_is_found_by_its_words_and_not_by_the_old_ones(self, world: World) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học")
        assert found(world.db, q="truong") == {dataset.id}
        service.update_dataset(world.db, world.editor, dataset.id, {"title": "Cơ sở y tế"})
        assert found(world.db, q="truong") == set()
        assert found(world.db, q="co so y t") == {dataset.id}

    def test_a_deleted_dataset_is_gone_even_for_its_agency(self, world: World) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học")
        assert dataset.id in found(world.db)
        service.delete_dataset(world.db, world.agency_admin, dataset.id)
        assert dataset.id not in found(world.db)
        assert dataset.id not in found(world.db, world.admin, include_private=True, include_drafts=True)

    def test_a_deleted_tag_leaves_the_facets(self, world: World) -> None:
        make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục", "tạm thời"))
        facets = search.search_datasets(world.db, ANONYMOUS, facet_fields=["tags"], rows=0).facets
        assert {i.name for i in facets["tags"]} == {"giáo dục", "tạm thời"}
        world.db.delete(world.db.scalar(select(Tag).where(Tag.name == "tạm thời")))
        world.db.commit()
        facets = search.search_datasets(world.db, ANONYMOUS, facet_fields=["tags"], rows=0).facets
        assert {i.name for i in facets["tags"]} == {"giáo dục"}
        assert found(world.db, tags=["tạm thời"]) == set()

    def test_a_renamed_agency_shows_its_new_name_and_code(self, world: World) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học")
        items = search.search_datasets(world.db, ANONYMOUS, facet_fields=["organization"], rows=0).facets["organization"]
        assert [(i.name, i.display_name) for i in items] == [(world.agency.code, world.agency.name_vi)]
        world.agency.name_vi = "Sở Giáo dục, Khoa học và Công nghệ"
        world.agency.code = "LCU-SGDKHCN"
        record(world.db, SYSTEM, EventTag.AGENCY_UPDATE, world.agency, label=world.agency.code)
        world.db.commit()
        items = search.search_datasets(world.db, ANONYMOUS, facet_fields=["organization"], rows=0).facets["organization"]
        assert [(i.name, i.display_name) for i in items] == [("LCU-SGDKHCN", "Sở Giáo dục, Khoa học và Công nghệ")]
        assert found(world.db, organization=["lcu-sgdkhcn"]) == {dataset.id}

    def test_a_deleted_topic_leaves_the_facets(self, world: World) -> None:
        topic = make_group(world.db, "giao-duc", "Giáo dục")
        make_dataset(world.db, world.agency, "Danh sách trường học", groups=(topic,))
        facets = search.search_datasets(world.db, ANONYMOUS, facet_fields=["groups"], rows=0).facets
        assert [i.name for i in facets["groups"]] == ["giao-duc"]
        service.delete_group(world.db, world.admin, topic.id)
        world.db.commit()
        assert search.search_datasets(world.db, ANONYMOUS, facet_fields=["groups"], rows=0).facets["groups"] == []
        assert found(world.db, groups=["giao-duc"]) == set()


class TestOtherSessions:
    def test_a_committed_change_is_followed_through_the_chain_of_changes(
        self, world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục",))
        reader = session_factory()
        assert found(reader, tags=["giáo dục"]) == {dataset.id}
        reader.rollback()

        def compare_all(*_: Any) -> None:
            raise AssertionError("every token compared: the chain of changes was not followed")

        monkeypatch.setattr(search_index.DatasetIndex, "_compare_all", compare_all)
        service.update_dataset(world.db, world.editor, dataset.id, {"tags": ["y tế"]})
        world.db.commit()
        assert found(reader, tags=["giáo dục"]) == set()
        assert found(reader, tags=["y tế"]) == {dataset.id}
        reader.close()

    def test_a_privacy_change_made_elsewhere_is_seen_by_the_next_search(
        self, world: World, session_factory: sessionmaker[Session]
    ) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học")
        reader = session_factory()
        assert dataset.id in found(reader)
        reader.rollback()
        service.make_private(world.db, world.approver, dataset.id)
        world.db.commit()
        assert dataset.id not in found(reader)
        reader.close()

    def test_a_rolled_back_change_is_not_seen_afterwards(self, world: World, session_factory: sessionmaker[Session]) -> None:
        dataset = make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục",))
        writer = session_factory()
        service.update_dataset(writer, world.editor, dataset.id, {"tags": ["y tế"], "title": "Cơ sở y tế"})
        assert found(writer, tags=["y tế"]) == {dataset.id}  # the writer sees its own change
        writer.rollback()
        writer.close()
        assert found(world.db, tags=["y tế"]) == set()
        assert found(world.db, tags=["giáo dục"]) == {dataset.id}
        assert found(world.db, q="truong hoc") == {dataset.id}

    def test_a_refresh_that_fails_halfway_is_done_again_in_full(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        kept = make_dataset(world.db, world.agency, "Cơ sở y tế")
        changed = make_dataset(world.db, world.agency, "Danh sách trường học", tags=("giáo dục",))
        assert found(world.db) >= {kept.id, changed.id}
        service.update_dataset(world.db, world.editor, changed.id, {"tags": ["y tế"]})
        world.db.commit()

        def fails_halfway(index: search_index.DatasetIndex, *_: Any) -> None:
            index._clear()  # what it had loaded is gone: say, the connection dropped
            raise ConnectionError("connection lost")

        with monkeypatch.context() as patched:
            patched.setattr(search_index.DatasetIndex, "_catch_up", fails_halfway)
            with pytest.raises(ConnectionError):
                found(world.db)
        assert found(world.db) >= {kept.id, changed.id}
        assert found(world.db, tags=["y tế"]) == {changed.id}

    def test_each_commit_records_its_datasets_and_links_to_the_token_before(self, world: World) -> None:
        first = make_dataset(world.db, world.agency, "Danh sách trường học")
        second = make_dataset(world.db, world.agency, "Cơ sở y tế")
        before = world.db.scalar(select(DatasetSearchState.token))
        service.update_dataset(world.db, world.editor, first.id, {"tags": ["giáo dục"]})
        service.update_dataset(world.db, world.editor, second.id, {"tags": ["y tế"]})
        world.db.commit()
        token = world.db.scalar(select(DatasetSearchState.token))
        change = world.db.get(DatasetSearchChange, token)
        assert change is not None and change.previous == before
        assert set(change.dataset_ids.split(",")) == {first.id.hex, second.id.hex}

    def test_a_download_count_is_no_change_for_the_index_but_sorts_at_once(self, world: World) -> None:
        quiet = make_dataset(world.db, world.agency, "Danh sách trường học")
        used = make_dataset(world.db, world.agency, "Cơ sở y tế")
        token = world.db.scalar(select(DatasetSearchState.token))
        resources.count(world.db, used.id)
        resources.count(world.db, used.id)
        world.db.commit()
        assert world.db.scalar(select(DatasetSearchState.token)) == token
        ordered = search.search_datasets(world.db, ANONYMOUS, sort="downloads desc", load=False).ids
        assert ordered.index(used.id) < ordered.index(quiet.id)
        filtered = search.search_datasets(world.db, ANONYMOUS, organization=[world.agency.code], sort="downloads desc", load=False)
        assert filtered.ids[0] == used.id


# ----------------------------------------------------------------------- visibility


@pytest.fixture
def every_kind(world: World) -> dict[str, Dataset]:
    """Each state and privacy, in two agencies."""
    made = {}
    for agency, label in ((world.agency, "own"), (world.other, "other")):
        for state, private in itertools.product((DatasetState.ACTIVE, DatasetState.DRAFT, DatasetState.DELETED), (False, True)):
            name = f"{label}-{state.value}-{'private' if private else 'public'}"
            made[name] = make_dataset(world.db, agency, f"Bộ dữ liệu {name}", state=state, private=private)
    return made


ACTORS = {
    "anonymous": lambda w: ANONYMOUS,
    "citizen": lambda w: staff(Role.CITIZEN, None),
    "editor": lambda w: w.editor,
    "approver": lambda w: w.approver,
    "editor of another agency": lambda w: w.other_editor,
    "consumer system": lambda w: staff(Role.CONSUMER_SYSTEM, w.agency),
    "platform admin": lambda w: w.admin,
}


@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)], ids=lambda f: f"private={f[0]},drafts={f[1]}")
@pytest.mark.parametrize("who", list(ACTORS))
def test_the_index_lists_exactly_what_the_sql_rule_lists(world: World, every_kind: dict[str, Dataset], who: str, flags: tuple[bool, bool]) -> None:
    actor = ACTORS[who](world)
    include_private, include_drafts = flags
    rule = service.visible_clause(actor, include_private=include_private, include_drafts=include_drafts)
    expected = set(world.db.scalars(select(Dataset.id).where(rule)))
    assert found(world.db, actor, include_private=include_private, include_drafts=include_drafts) == expected
    names = {d.id: n for n, d in every_kind.items()}
    assert not any("deleted" in names[i] for i in expected if i in names)
