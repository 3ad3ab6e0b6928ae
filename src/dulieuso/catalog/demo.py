# SPDX-License-Identifier: AGPL-3.0-or-later
"""Lai Châu demo catalog, read from ``catalog/data``: code lists, information systems,
about 25 database entries through the whole workflow, one issued version and one change
after it. Everything goes through the services (same rules, audit records); anything
already there is left alone, so a second run changes nothing.

Call after ``dulieuso.agencies.demo.load_demo`` (the entries name agencies by code).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor
from dulieuso.catalog import codelists, issues, service, systems
from dulieuso.catalog.entries import CategoryData, ElementData, EntryData, entry_data_from_dict
from dulieuso.catalog.labels import FORM_CODES
from dulieuso.catalog.models import (
    CatalogIssue,
    CodeList,
    DatabaseLevel,
    ElementType,
    EntryStatus,
    Hosting,
    Importance,
    InformationSystem,
    SharingScope,
    UpdateFrequency,
    UserType,
)

DATA_DIR = Path(__file__).parent / "data"
#: ``key=value`` (a value may hold spaces: ``unit=triệu đồng``) or a bare word.
_FLAG = re.compile(r"(cl|unit|dict)=(.+?)(?=\s+(?:cl|unit|dict)=|\s+(?:req|master|personal)\b|$)|\b(req|master|personal)\b")


def _yaml(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def parse_element(spec: str) -> ElementData:
    """``"Xã, phường | code | req master cl=dvhc-lai-chau"`` → ``ElementData``."""
    parts = [p.strip() for p in spec.split("|")]
    name, data_type = parts[0], ElementType(parts[1] if len(parts) > 1 and parts[1] else "text")
    element = ElementData(name=name, data_type=data_type)
    flags = parts[2] if len(parts) > 2 else ""
    for key, value, word in _FLAG.findall(flags):
        if word == "req":
            element.required = True
        elif word == "master":
            element.is_master_data = True
        elif word == "personal":
            element.is_personal_data = True
        elif key == "cl":
            element.code_list = value
        elif key == "unit":
            element.unit = value
        elif key == "dict":
            element.dictionary_id = value
    leftover = _FLAG.sub("", flags).strip()
    if leftover:
        raise ValueError(f"unknown element flags {leftover!r} in {spec!r}")
    return element


def parse_matrix(spec: str) -> dict[UserType, Any]:
    if len(spec) != len(UserType):
        raise ValueError(f"matrix {spec!r} needs {len(UserType)} letters")
    return {ut: FORM_CODES[letter] for ut, letter in zip(UserType, spec)}


def entry_from_yaml(item: dict[str, Any], defaults: dict[str, Any]) -> EntryData:
    def get(key: str, default: Any = None) -> Any:
        return item.get(key, defaults.get(key, default))

    return EntryData(
        code=item["code"],
        name=item["name"],
        owner_agency=item["agency"],
        purpose=item.get("purpose", ""),
        scope=get("scope", ""),
        content=item.get("content", ""),
        collection_mechanism=item.get("collection_mechanism", ""),
        update_mechanism=item.get("update_mechanism", ""),
        update_frequency=UpdateFrequency(item["update_frequency"]) if item.get("update_frequency") else None,
        data_sources=item.get("data_sources", ""),
        level=DatabaseLevel(get("level")) if get("level") else None,
        legal_basis=item.get("legal_basis", ""),
        hosting=Hosting(get("hosting")) if get("hosting") else None,
        start_year=item.get("start_year"),
        record_count_estimate=item.get("records"),
        sharing_scope=SharingScope(item.get("sharing_scope", "shared")),
        importance=Importance(item.get("importance", "other")),
        decision20_item=item.get("decision20_item"),
        contains_state_secret=bool(item.get("contains_state_secret", False)),
        systems=list(item.get("systems", [])),
        categories=[
            CategoryData(
                name=c["name"],
                description=c.get("description", ""),
                availability=parse_matrix(c["matrix"]),
                elements=[parse_element(e) for e in c.get("elements", [])],
            )
            for c in item.get("categories", [])
        ],
    )


def _csv_items(spec: dict[str, Any]) -> list[codelists.ItemRow]:
    columns = spec["columns"]
    with (DATA_DIR / spec["csv"]).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return codelists.item_mapping(
        {key: row.get(column) or None for key, column in columns.items()} for row in rows
    )


def load_code_lists(session: Session, actor: Actor) -> int:
    known = set(session.scalars(select(CodeList.code)))
    created = 0
    for spec in _yaml("code_lists.yaml")["code_lists"]:
        if spec["code"] in known:
            continue
        codelists.create_code_list(
            session, actor,
            codelists.CodeListInput(
                code=spec["code"], name=spec["name"], description=spec.get("description", ""),
                issuer=spec.get("issuer", ""), legal_basis=spec.get("legal_basis", ""),
            ),
        )
        if "csv" in spec:
            items = _csv_items(spec)
        else:
            items = [codelists.ItemRow(str(r[0]), str(r[1]), str(r[2]) if len(r) > 2 else None) for r in spec["items"]]
        codelists.import_version(
            session, actor, spec["code"], str(spec["version"]), items,
            source=spec.get("csv") or "catalog/data/code_lists.yaml",
        )
        created += 1
    return created


def load_systems(session: Session, actor: Actor) -> int:
    known = set(session.scalars(select(InformationSystem.code)))
    created = 0
    for spec in _yaml("systems.yaml")["systems"]:
        if spec["code"] in known:
            continue
        systems.save_system(session, actor, systems.SystemInput(**spec), mode="create")
        created += 1
    return created


def load_demo(session: Session, actor: Actor) -> dict[str, int]:
    """Load the demo catalog; returns what was created. Idempotent."""
    counts = {"code_lists": load_code_lists(session, actor), "systems": load_systems(session, actor)}
    data = _yaml("databases.yaml")
    defaults = data.get("defaults", {})
    created = 0
    for item in data["databases"]:
        if service.find(session, item["code"]) is not None:
            continue
        service.save_entry(session, actor, entry_from_yaml(item, defaults), mode="create")
        created += 1
        status = EntryStatus(item.get("status", "accepted"))
        if status is EntryStatus.DRAFT:
            continue
        service.submit(session, actor, item["code"])
        if status is EntryStatus.ACCEPTED:
            service.accept(session, actor, item["code"])
        elif status is EntryStatus.CHANGES_REQUESTED:
            comment = item.get("review_comment") or {}
            service.add_comment(session, actor, item["code"], comment.get("field"), comment.get("comment", "Cần bổ sung."))
            service.request_changes(session, actor, item["code"])
    counts["databases"] = created
    counts["issues"] = 0
    if session.scalar(select(CatalogIssue.id).limit(1)) is None:
        spec = data["issue"]
        issues.issue_catalog(
            session, actor,
            issues.IssueInput(
                decision_number=spec["decision_number"], decision_date=str(spec["decision_date"]),
                signer=spec["signer"], signer_title=spec.get("signer_title", ""), note=spec.get("note", ""),
            ),
        )
        counts["issues"] = 1
        change = data.get("pending_change")
        if change:
            database = service.find(session, change["code"])
            if database is not None:
                entry = entry_data_from_dict(service.to_dict(session, database))
                add = change["add_element"]
                for category in entry.categories:
                    if category.name == add["category"]:
                        category.elements.append(parse_element(add["element"]))
                service.save_entry(session, actor, entry, mode="update")
    return counts
