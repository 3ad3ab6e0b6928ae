"""Display labels of roles (translated where shown)."""

from dulieuso.auth.models import Role
from dulieuso.i18n import N_

ROLE_LABELS: dict[Role, str] = {
    Role.PLATFORM_ADMIN: N_("Platform administrator"),
    Role.AGENCY_ADMIN: N_("Agency administrator"),
    Role.AGENCY_EDITOR: N_("Agency editor"),
    Role.AGENCY_APPROVER: N_("Agency approver"),
    Role.CONSUMER_SYSTEM: N_("Consumer system (machine account)"),
    Role.CITIZEN: N_("Registered citizen"),
    Role.ANONYMOUS: N_("Anonymous visitor"),
}
