"""An admin's save: the engine is told exactly what differs between two snapshots."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ringdesk.core.commands import CtiLogin, Dial
from ringdesk.core.engine import Engine
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentConfig, ServiceConfig
from ringdesk.core.telephony import PhoneRegistered
from ringdesk.runtime.reconfigure import changes
from ringdesk.store.cti_settings import DEFAULTS
from ringdesk.store.snapshot import Snapshot

SUPPORT = ServiceConfig(id=1, name="Support")
SALES = ServiceConfig(id=2, name="Sales")
ALICE = AgentConfig(1, "Alice", "1001", "1001", frozenset({1}))
BOB = AgentConfig(2, "Bob", "1002", "1002", frozenset({1, 2}))
OLD = Snapshot(services=(SUPPORT, SALES), agents=(ALICE, BOB))


def _engine() -> Engine:
    return Engine(DEFAULTS.engine_settings(), list(OLD.services), list(OLD.agents))


def test_an_unchanged_snapshot_tells_the_engine_nothing() -> None:
    diff = changes(OLD, replace(OLD))
    assert diff.apply(_engine(), 0.0) == []
    assert diff.agents == frozenset() and not diff.names_changed


def test_a_deleted_service_is_closed_and_a_changed_agent_republished() -> None:
    engine = _engine()
    engine.on_telephony(PhoneRegistered("1002", True), 0.0)
    engine.handle(CtiLogin(2), 0.0)
    new = replace(OLD, services=(SUPPORT,), agents=(replace(ALICE, name="Alice"), BOB))
    diff = changes(OLD, new)
    assert diff.agents == frozenset()  # same configs: nobody to republish
    diff.apply(engine, 1.0)
    # The engine keeps the deleted service's id, with both contracts closed.
    with pytest.raises(CoreError) as refused:
        engine.handle(Dial(2, service_id=2, number="5551234", calling_number="5550200"), 2.0)
    assert refused.value.code == "outbound_disabled"
    moved = changes(new, replace(new, agents=(ALICE, replace(BOB, services=frozenset({1})))))
    assert moved.agents == {2} and not moved.names_changed
    moved.apply(engine, 3.0)
    assert engine.agent(2).services == frozenset({1})


def test_a_renamed_or_removed_agent_makes_timelines_forget_names() -> None:
    renamed = changes(OLD, replace(OLD, agents=(replace(ALICE, name="Alice M."), BOB)))
    assert renamed.names_changed and renamed.agents == {1}
    removed = changes(OLD, replace(OLD, agents=(ALICE,)))
    assert removed.names_changed
    engine = _engine()
    removed.apply(engine, 0.0)
    assert engine.agent(2).services == frozenset()  # can no longer log in or be offered


def test_global_settings_reach_the_engine_only_when_its_part_changed() -> None:
    switch_only = changes(OLD, replace(OLD, settings=replace(DEFAULTS, max_calls_total=7)))
    assert switch_only.apply(_engine(), 0.0) == []  # the switch reads the limits, not the engine
    pickup = changes(OLD, replace(OLD, settings=replace(DEFAULTS, pickup_seconds=30.0)))
    assert len(pickup.apply(_engine(), 0.0)) == 1
