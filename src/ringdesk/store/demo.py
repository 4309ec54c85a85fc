"""`ringdesk demo`: the demo tenant every guide and test relies on. Safe to run again."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.cti_settings import DEFAULTS
from ringdesk.store.security import hash_password


@dataclass(frozen=True, slots=True)
class DemoAgent:
    username: str
    password: str
    name: str
    cti_id: str
    phone_password: str


ADMIN = ("admin", "admin-demo", "Administrator")
AGENTS = (
    DemoAgent("alice", "alice-demo", "Alice Martin", "1001", "phone1001-demo"),
    DemoAgent("bob", "bob-demo", "Bob Chen", "1002", "phone1002-demo"),
    DemoAgent("carol", "carol-demo", "Carol Diaz", "1003", "phone1003-demo"),
)
SERVICE_NAME = "Customer Support"
INBOUND_NUMBER = "5550100"
CALLING_NUMBERS = (("5550100", "Main line"), ("5550199", "Support callback"))
CUSTOMERS = (("Dana Scully", "5551234"), ("Fox Mulder", "5555678"))
# A trunk on this machine (`sipp -sn uas -p 5080` plays it). Inbound calls are taken from it
# only, as in production (allow_any_source stays off): a local SIPp calls in from that port,
# `sipp -sn uac -p 5080 -s 5550100 127.0.0.1:5060`.
DEMO_TRUNK_PORT = 5080
DEMO_TRUNK = "Demo trunk"


def _user(db: Session, username: str, password: str, name: str, role: str) -> m.User:
    user = db.scalar(select(m.User).where(m.User.username == username))
    if user is None:
        user = m.User(
            username=username,
            name=name,
            role=role,
            password_hash=hash_password(password),
            created_at=time.time(),
        )
        db.add(user)
        db.flush()
    return user


def seed(db: Session) -> list[str]:
    """Create what is missing of the demo tenant; return the login lines to print."""
    _user(db, *ADMIN, role="admin")
    service = db.scalar(select(m.Service).where(m.Service.inbound_number == INBOUND_NUMBER))
    if service is None:
        service = db.get(m.Service, 1) or m.Service(
            name=SERVICE_NAME,
            inbound_number=INBOUND_NUMBER,
            inbound_enabled=True,
            outbound_enabled=True,
            strategy="longest_idle",
            overflow_action="none",
            service_level_seconds=20.0,
        )
        db.add(service)
        db.flush()
    for number, label in CALLING_NUMBERS:
        exists = db.scalar(
            select(m.CallingNumber).where(
                m.CallingNumber.service_id == service.id, m.CallingNumber.number == number
            )
        )
        if exists is None:
            db.add(m.CallingNumber(service_id=service.id, number=number, label=label))
    for agent in AGENTS:
        user = _user(db, agent.username, agent.password, agent.name, "agent")
        if db.get(m.ServiceAgent, (service.id, user.id)) is None:
            db.add(m.ServiceAgent(service_id=service.id, user_id=user.id, phone_permission=True))
        taken = db.scalar(select(m.CtiAgent).where(m.CtiAgent.cti_id == agent.cti_id))
        if db.get(m.CtiAgent, user.id) is None and taken is None:
            db.add(
                m.CtiAgent(
                    user_id=user.id,
                    cti_id=agent.cti_id,
                    cti_number=agent.cti_id,
                    phone_password=agent.phone_password,
                    # The demo is tried with nothing installed: the browser may be the phone.
                    browser_phone_allowed=True,
                )
            )
    if db.get(m.CtiSettingsRow, 1) is None:
        # The first seed: the settings, and the trunk (an admin who removes it later keeps it
        # removed).
        db.add(m.CtiSettingsRow(id=1, **DEFAULTS.row_values()))
        if db.scalar(select(m.TrunkRow).where(m.TrunkRow.name == DEMO_TRUNK)) is None:
            # Priority 100: a trunk the admin adds (priority 1 by default) is tried first.
            db.add(
                m.TrunkRow(name=DEMO_TRUNK, host="127.0.0.1", port=DEMO_TRUNK_PORT, priority=100)
            )
    for name, phone in CUSTOMERS:
        if db.scalar(select(m.Customer).where(m.Customer.phone == phone)) is None:
            db.add(m.Customer(name=name, phone=phone))
    db.commit()
    lines = [f"admin    {ADMIN[0]} / {ADMIN[1]}"]
    for agent in AGENTS:
        lines.append(
            f"agent    {agent.username} / {agent.password}  ({agent.name}; SIP phone: "
            f"user {agent.cti_id}, password {agent.phone_password})"
        )
    lines.append(f"service  {SERVICE_NAME}: inbound number {INBOUND_NUMBER}")
    return lines
