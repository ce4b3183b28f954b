"""The dashboard's navigation bar; a new page adds its entry here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    admin_only: bool = False


NAV: list[NavItem] = [
    NavItem("Fleet", "/"),
    NavItem("Scenarios", "/scenarios"),
    NavItem("Schedule", "/schedule"),
    NavItem("Executions", "/executions"),
    NavItem("Alarms", "/alarms"),
    NavItem("Studies", "/studies"),
    NavItem("Account", "/account"),
]


def items_for(is_admin: bool) -> list[NavItem]:
    return [item for item in NAV if is_admin or not item.admin_only]
