"""Wrap-up codes (core/dispositions.py): picked in Ticket Processing, required or optional per
service; a required one refuses the agent's own end of the wrap-up, the time limit does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ringdesk.core.commands import PickDisposition, SetStatus
from ringdesk.core.errors import CoreError
from ringdesk.core.events import DispositionPicked
from ringdesk.core.model import AgentStatus, CtiSettings, DispositionCode

from .harness import ALICE, SUPPORT, Desk

RESOLVED, LATER = DispositionCode(11, "Resolved"), DispositionCode(12, "Call back later")


def _wrapping(*, required: bool, settings: CtiSettings | None = None) -> tuple[Desk, str]:
    support = replace(SUPPORT, dispositions=(RESOLVED, LATER), disposition_required=required)
    desk = Desk(settings=settings, services=[support])
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.now += 30
    desk.tel(desk.phone.hung_up(cust))
    assert desk.status(ALICE) == "ticket_processing"
    return desk, call


def test_a_required_code_refuses_ready_until_one_is_picked() -> None:
    desk, call = _wrapping(required=True)
    view = desk.engine.agent(ALICE)
    assert (view.wrap_call, view.wrap_service, view.disposition) == (call, 1, None)
    with pytest.raises(CoreError) as refused:
        desk.do(SetStatus(ALICE, AgentStatus.READY))
    assert refused.value.code == "disposition_required"
    assert "wrap-up code" in refused.value.message
    assert desk.status(ALICE) == "ticket_processing"
    desk.do(PickDisposition(ALICE, LATER.id))
    desk.do(PickDisposition(ALICE, RESOLVED.id))  # changed: the last one counts
    assert desk.of(DispositionPicked)[-1] == DispositionPicked(
        call, ALICE, 1, RESOLVED.id, "Resolved", desk.now
    )
    assert desk.engine.agent(ALICE).disposition == RESOLVED.id
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    assert desk.status(ALICE) == "ready"
    assert desk.engine.agent(ALICE).wrap_call is None


def test_an_optional_code_may_be_left_out_and_codes_are_the_services_own() -> None:
    desk, _ = _wrapping(required=False)
    with pytest.raises(CoreError) as unknown:
        desk.do(PickDisposition(ALICE, 99))
    assert unknown.value.code == "disposition_not_found"
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    assert desk.status(ALICE) == "ready" and desk.of(DispositionPicked) == []
    with pytest.raises(CoreError) as late:
        desk.do(PickDisposition(ALICE, RESOLVED.id))  # no wrap-up any more
    assert late.value.code == "not_wrapping_up"


def test_the_wrap_up_limit_ends_it_without_a_code() -> None:
    desk, _ = _wrapping(required=True, settings=CtiSettings(wrap_up_seconds=60.0))
    desk.tick(61.0)
    assert desk.status(ALICE) == "ready" and desk.of(DispositionPicked) == []
