"""Bridges: the one record of which legs' media are joined, kept with the media server's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from ringdesk.switch.bridges import Bridges

from .harness import FakeMedia


def bridges(*leg_ids: str) -> tuple[Bridges, FakeMedia, dict[str, Any]]:
    media = FakeMedia()
    legs: dict[str, Any] = {i: SimpleNamespace(leg_id=i, ended=False) for i in leg_ids}
    return Bridges(cast(Any, SimpleNamespace(media=media, legs=legs))), media, legs


def test_join_and_split_go_both_ways_and_reach_the_media_server() -> None:
    b, media, _ = bridges("a", "b")
    b.join("a", "b")
    assert (b.partner("a"), b.partner("b")) == ("b", "a")
    b.split("b")
    assert (b.partner("a"), b.partner("b")) == (None, None)
    b.split("a")  # not joined: nothing to tell the media server
    assert media.calls == [("bridge", "a", "b"), ("unbridge", "b")]


def test_a_held_leg_gets_its_partner_back_on_resume() -> None:
    b, media, _ = bridges("a", "b")
    b.join("a", "b")
    b.hold("a")
    assert b.partner("b") is None
    b.resume("a")
    assert b.partner("b") == "a"
    assert media.calls == [("bridge", "a", "b"), ("unbridge", "a"), ("bridge", "a", "b")]


def test_resume_leaves_a_partner_that_is_gone_or_joined_elsewhere() -> None:
    b, _, legs = bridges("a", "b", "c")
    b.join("a", "b")
    b.hold("a")
    b.join("b", "c")
    b.resume("a")
    assert (b.partner("a"), b.partner("b")) == (None, "c")
    b.split("b")
    b.join("a", "b")
    b.hold("a")
    legs["b"].ended = True
    b.resume("a")
    assert b.partner("a") is None


def test_a_leg_that_ends_is_forgotten() -> None:
    b, _, _ = bridges("a", "b")
    b.join("a", "b")
    b.hold("b")
    b.drop("b")
    b.resume("b")
    assert (b.partner("a"), b.partner("b")) == (None, None)


def test_a_leg_joined_with_itself_splits_cleanly() -> None:
    b, media, _ = bridges("a")
    b.join("a", "a")
    assert b.partner("a") == "a"
    b.split("a")
    assert b.partner("a") is None
    assert media.calls == [("bridge", "a", "a"), ("unbridge", "a")]
