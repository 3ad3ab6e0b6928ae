# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agencies catalogue: every message used by the domain, with matching placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import dulieuso.agencies
from dulieuso.agencies.labels import TYPE_LABELS
from dulieuso.agencies.models import AgencyType
from dulieuso.i18n import gettext

DOMAIN = Path(dulieuso.agencies.__path__[0])
KEYWORDS = {"_": None, "gettext": None, "N_": None, "Msg": None}
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def catalogue() -> dict[str, str]:
    with (DOMAIN / "locale" / "vi.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale="vi") if m.id}


def used_msgids() -> set[str]:
    methods = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    return {
        message if isinstance(message, str) else message[0]
        for _f, _l, message, _c, _x in extract_from_dir(
            str(DOMAIN), methods, keywords=KEYWORDS, options_map=options
        )
    }


def test_every_message_of_the_domain_is_in_its_catalogue() -> None:
    translations = catalogue()

    missing = sorted(m for m in used_msgids() if not translations.get(m))

    assert not missing


def test_translations_keep_the_placeholders() -> None:
    for msgid, msgstr in catalogue().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_agency_types_have_their_official_vietnamese_labels() -> None:
    labels = {kind.value: gettext(TYPE_LABELS[kind], "vi") for kind in AgencyType}

    assert labels == {
        "ubnd_tinh": "UBND tỉnh",
        "co_quan_chuyen_mon": "Cơ quan chuyên môn (sở, ban, ngành)",
        "don_vi_su_nghiep": "Đơn vị sự nghiệp",
        "ubnd_huyen": "UBND huyện (cũ)",
        "ubnd_xa": "UBND xã, phường",
        "co_quan_bao_chi": "Cơ quan báo chí",
        "bo_nganh_trung_uong": "Bộ, ngành trung ương",
        "tinh_khac": "Tỉnh, thành phố khác",
    }
