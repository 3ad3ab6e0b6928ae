# SPDX-License-Identifier: AGPL-3.0-or-later
"""On/off policies (unit ``switch``): 1 is on, 0 is off, read with ``switch_on``; a switch
is never a deadline, and pages show it as Bật/Tắt."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from conftest import login, make_user
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.errors import Invalid
from dulieuso.policy import service
from dulieuso.policy.models import Policy, PolicyStatus, PolicyUnit
from dulieuso.policy.schemas import PolicySeed

KEY = "open_data_issued_list_required"


class TestSeed:
    def test_the_issued_list_switch_is_seeded_on_with_its_legal_basis(self, seeded: Session) -> None:
        policy = service.get_policy(seeded, KEY)
        assert (policy.value, policy.unit, policy.status) == (1, PolicyUnit.SWITCH, PolicyStatus.REPEALED)
        assert service.citation(policy, "vi") == "Điều 17 khoản 2, Nghị định 47/2020/NĐ-CP"
        assert policy.replaced_by == "Nghị định 194/2025/NĐ-CP, Điều 40 khoản 2 điểm b"
        assert policy.effective_from == date(2020, 5, 25)

    @pytest.mark.parametrize(("unit", "value"), [("switch", 2), ("working_day", 0)])
    def test_a_seed_row_must_fit_its_unit(self, unit: str, value: int) -> None:
        row = {"key": "k", "value": value, "unit": unit, "description_vi": "x", "description_en": "x",
               "legal_document": "x", "status": "in_force", "effective_from": "2026-01-01"}
        with pytest.raises(ValidationError):
            PolicySeed.model_validate(row)


class TestSwitchOn:
    def test_on_and_off(self, seeded: Session) -> None:
        assert service.switch_on(seeded, KEY) is True
        service.update_policy(seeded, SYSTEM, KEY, value=0)
        assert service.switch_on(seeded, KEY, default=True) is False

    def test_a_missing_row_gives_the_default(self, db: Session) -> None:
        assert db.get(Policy, KEY) is None
        assert service.switch_on(db, KEY) is False
        assert service.switch_on(db, KEY, default=True) is True

    def test_a_deadline_is_not_read_as_a_switch(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as error:
            service.switch_on(seeded, "open_data_update")
        assert error.value.code == "policy_not_a_switch"

    def test_deadline_refuses_a_switch(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as error:
            service.deadline(seeded, KEY, date(2026, 1, 5))
        assert error.value.code == "policy_is_a_switch"
        assert "switch" in error.value.message.en and "công tắc" in error.value.message.vi


class TestEditing:
    @pytest.mark.parametrize("value", [2, -1, 10])
    def test_a_switch_is_one_or_zero(self, seeded: Session, value: int) -> None:
        with pytest.raises(Invalid) as error:
            service.update_policy(seeded, SYSTEM, KEY, value=value)
        assert error.value.fields["value"][0].en == "A switch is 1 (on) or 0 (off)."

    def test_zero_is_still_refused_for_a_deadline(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as error:
            service.update_policy(seeded, SYSTEM, "open_data_update", value=0)
        assert "value" in error.value.fields

    @pytest.mark.parametrize(("key", "unit"), [(KEY, "month"), ("open_data_update", "switch")])
    def test_the_unit_does_not_cross_between_switch_and_deadline(self, seeded: Session, key: str, unit: str) -> None:
        with pytest.raises(Invalid) as error:
            service.update_policy(seeded, SYSTEM, key, unit=unit, value=1)
        assert "unit" in error.value.fields


class TestPages:
    def test_the_list_and_the_form_show_on_and_off(self, client: TestClient, seeded: Session) -> None:
        admin = make_user(seeded, Role.PLATFORM_ADMIN)
        seeded.commit()
        token = login(client, admin)
        listing = client.get("/admin/policies")
        row = listing.text.split(f'id="policy-{KEY}"', 1)[1].split("</tr>", 1)[0]
        assert "<td>Bật</td>" in row
        page = client.get(f"/admin/policies/{KEY}")
        assert '<option value="0"' in page.text and "Tắt" in page.text
        form = {
            "value": "0", "unit": "switch", "status": "repealed",
            "replaced_by": "Nghị định 194/2025/NĐ-CP, Điều 40 khoản 2 điểm b", "effective_from": "2020-05-25",
            "legal_document": "Nghị định 47/2020/NĐ-CP", "legal_article": "17", "legal_clause": "2",
            "description_vi": "Chỉ công bố dữ liệu có trong danh mục", "description_en": "Only listed datasets", "note": "",
            "csrf_token": token,
        }
        bad = client.post(f"/admin/policies/{KEY}", data={**form, "value": "5"})
        assert bad.status_code == 422 and "Công tắc chỉ nhận giá trị 1 (bật) hoặc 0 (tắt)." in bad.text
        saved = client.post(f"/admin/policies/{KEY}", data=form, follow_redirects=False)
        assert saved.status_code == 303
        seeded.expire_all()
        assert service.switch_on(seeded, KEY) is False
        assert "<td>Tắt</td>" in client.get("/admin/policies").text.split(f'id="policy-{KEY}"', 1)[1].split("</tr>", 1)[0]
