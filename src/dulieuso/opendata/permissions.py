# SPDX-License-Identifier: AGPL-3.0-or-later
"""Who may do what on the open-data portal.

Reading public datasets needs no login (Decree 47 Art. 17(1)(đ)). An agency's editors
and admins write their own agency's datasets; its approvers publish them and alone may
override the personal-data gate (with a written reason, per resource and data version).
The platform administrator may do everything, including managing topics (groups).
"""

from __future__ import annotations

from enum import StrEnum

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import EVERYONE, STAFF, register

ADMIN = frozenset({Role.PLATFORM_ADMIN})
AUTHORS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_EDITOR})
PUBLISHERS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_APPROVER})
APPROVERS = frozenset({Role.AGENCY_APPROVER})
NOBODY: frozenset[Role] = frozenset()


class OpenDataAction(StrEnum):
    VIEW = "opendata.view"  # public datasets
    VIEW_PRIVATE = "opendata.view_private"  # drafts and private datasets of the agency
    EDIT = "opendata.edit"  # create, update, resources, data dictionary
    DELETE = "opendata.delete"
    PUBLISH = "opendata.publish"  # make public / make private
    PII_OVERRIDE = "opendata.pii_override"
    GROUP_MANAGE = "opendata.group_manage"


register(
    {
        OpenDataAction.VIEW: (EVERYONE, NOBODY),
        OpenDataAction.VIEW_PRIVATE: (ADMIN, STAFF),
        OpenDataAction.EDIT: (ADMIN, AUTHORS),
        OpenDataAction.DELETE: (ADMIN, frozenset({Role.AGENCY_ADMIN})),
        OpenDataAction.PUBLISH: (ADMIN, PUBLISHERS),
        OpenDataAction.PII_OVERRIDE: (ADMIN, APPROVERS),
        OpenDataAction.GROUP_MANAGE: (ADMIN, NOBODY),
    }
)
