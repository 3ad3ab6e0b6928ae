"""Demo mode: the Lai Châu demo data and one account per role (printed at start)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.auth import service as auth
from dulieuso.auth.labels import ROLE_LABELS
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import demo as catalog_demo
from dulieuso.config import Settings
from dulieuso.opendata import demo as opendata_demo
from dulieuso.opendata import plan as opendata_plan
from dulieuso.policy import service as policy
from dulieuso.sharing import demo as sharing_demo


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    password: str
    full_name: str
    agency_code: str | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


ACCOUNTS_FILE = Path(__file__).parent / "auth" / "data" / "demo_accounts.yaml"


def _accounts() -> tuple[DemoAccount, ...]:
    rows = yaml.safe_load(ACCOUNTS_FILE.read_text(encoding="utf-8"))
    return tuple(
        DemoAccount(Role(r["role"]), r["email"], r["password"], r["full_name"], r.get("agency")) for r in rows
    )


#: Demo-only credentials (data file), listed in the README. Never used outside ``dulieuso demo``.
DEMO_ACCOUNTS = _accounts()


def load(session: Session, settings: Settings) -> dict[str, object]:
    """Load the demo data once; running it again changes nothing.

    Order matters: agencies own catalog databases, open datasets and sharing services
    hang from catalog databases, and the demo services call the demo upstream at
    ``settings.base_url``.
    """
    counts: dict[str, object] = {
        "policies": policy.seed(session, SYSTEM),
        "agencies": agencies.load_demo(session, SYSTEM),
    }
    created = 0
    for account in DEMO_ACCOUNTS:
        if auth.find_user_by_email(session, account.email) is not None:
            continue
        agency_id = agencies.get_by_code(session, account.agency_code).id if account.agency_code else None
        auth.create_user(
            session,
            SYSTEM,
            auth.NewUser(
                email=account.email,
                full_name=account.full_name,
                role=account.role,
                password=account.password,
                agency_id=agency_id,
            ),
        )
        created += 1
    counts["users"] = created
    session.flush()
    counts["catalog"] = catalog_demo.load_demo(session, SYSTEM)
    counts["open_data"] = opendata_demo.load_demo(session, SYSTEM, settings=settings)
    counts["open_data_plan"] = opendata_plan.load_demo(session, SYSTEM)
    counts["sharing"] = sharing_demo.load_demo(session, SYSTEM, base_url=settings.base_url)
    return counts
