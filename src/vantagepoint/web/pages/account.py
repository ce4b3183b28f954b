"""The account: quota used and left, API tokens; for admins users, quotas and nodes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.deps import SessionDep, SettingsDep
from vantagepoint.core.api.nodes import list_nodes
from vantagepoint.core.api.schedules import all_quotas, my_quota
from vantagepoint.core.api.users import list_users, visible_tokens
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, db: SessionDep, settings: SettingsDep, viewer: ViewerDep):
    """What the user may do with their account; the admin sections only for admins
    signed in with a token that has the 'admin' scope."""
    user = viewer.user
    admin = {}
    if viewer.admin:
        admin = {"users": list_users(db, user), "quotas": all_quotas(db, settings, user),
                 "held": [n for n in list_nodes(db, settings, user) if n.status != "active"]}
    return render(request, "account.html", viewer, quota=my_quota(db, settings, user),
                  tokens=visible_tokens(db, user, user.is_admin), admin=admin)
