# SPDX-License-Identifier: AGPL-3.0-or-later
"""Display labels of agency types and statuses (English msgids, translated where shown)."""

from dulieuso.agencies.models import AgencyType
from dulieuso.i18n import N_

TYPE_LABELS: dict[AgencyType, str] = {
    AgencyType.PROVINCIAL_COMMITTEE: N_("Provincial People's Committee"),
    AgencyType.DEPARTMENT: N_("Specialised agency (department, board)"),
    AgencyType.PUBLIC_UNIT: N_("Public service unit"),
    AgencyType.DISTRICT_COMMITTEE: N_("District People's Committee (former)"),
    AgencyType.COMMUNE_COMMITTEE: N_("Commune or ward People's Committee"),
    AgencyType.PRESS: N_("Press agency"),
    AgencyType.MINISTRY: N_("Central ministry or agency"),
    AgencyType.OTHER_PROVINCE: N_("Other province or city"),
}

STATUS_LABELS: dict[str, str] = {
    "active": N_("Active"),
    "former": N_("Former (merged or retired)"),
    "all": N_("All"),
}
