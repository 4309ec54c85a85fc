"""switch/reattach.py's waiting rules, with stand-ins for the switch's state: a browser leg whose
socket closes waits; an un-REGISTER does not ring it; past the window it is hung up as a call
without media; a leg that ended meanwhile is forgotten; other legs are never touched. (The
whole path, a reload and a dropped socket with chromium, is tests/ui/test_browser_reconnect.py.)"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ringdesk.core.telephony import MEDIA_TIMEOUT
from ringdesk.sip.message import Headers, Request
from ringdesk.sip.uri import SipUri
from ringdesk.switch.legs import LegState, OutgoingLeg
from ringdesk.switch.reattach import WINDOW, BrowserReattach

SOCKET = ("127.0.0.1", 40001)


def _leg(
    leg_id: str, *, webrtc: bool = True, tp: str = "wss", state: LegState = LegState.ANSWERED
) -> Any:
    return SimpleNamespace(
        leg_id=leg_id, webrtc=webrtc, tp=tp, peer=SOCKET, state=state, ended=state is LegState.ENDED
    )


def _rig(*legs: Any) -> tuple[BrowserReattach, list[tuple[str, str]], SimpleNamespace]:
    clock = SimpleNamespace(t=100.0)
    hung: list[tuple[str, str]] = []
    state: Any = SimpleNamespace(
        legs={leg.leg_id: leg for leg in legs},
        stack=SimpleNamespace(now=lambda: clock.t),
        registrar=SimpleNamespace(lookup=lambda _cti, _now: []),
    )
    teardown: Any = SimpleNamespace(
        hang_up=lambda leg, cause, report: hung.append((leg.leg_id, cause))
    )
    return BrowserReattach(state, teardown, new_leg=lambda **_kw: None), hung, clock  # type: ignore[arg-type, return-value]


def test_a_browser_call_waits_for_its_phone_then_is_hung_up_as_without_media() -> None:
    browser = _leg("browser")
    plain = _leg("desk-phone", webrtc=False, tp="udp")
    ringing = _leg("ringing", state=LegState.EARLY)
    offered = OutgoingLeg(
        leg_id="offered",
        call_id="c",
        peer=SOCKET,
        tp="wss",
        sip_call_id="x",
        local_tag="t",
        invite=Request(method="INVITE", uri=SipUri(host="invalid"), headers=Headers(), body=b""),
        state=LegState.ANSWERED,
        webrtc=True,
        prewarm=True,  # the browser took the offer early; Answer not clicked
    )
    reattach, hung, clock = _rig(browser, plain, ringing, offered)
    reattach.socket_closed(SOCKET, "1001")
    assert reattach.waiting() == ["browser"]  # only an answered browser leg over that socket
    reattach.registered("1001")  # an un-REGISTER: no binding, nothing is rung
    clock.t += WINDOW - 1
    reattach.tick(clock.t)
    assert hung == [] and reattach.waiting() == ["browser"]
    clock.t += 1
    reattach.tick(clock.t)
    assert hung == [("browser", MEDIA_TIMEOUT)] and reattach.waiting() == []


def test_a_call_that_ends_while_waiting_is_forgotten() -> None:
    browser = _leg("browser")
    reattach, hung, clock = _rig(browser)
    reattach.socket_closed(SOCKET, "1001")
    browser.state, browser.ended = LegState.ENDED, True  # the customer hung up meanwhile
    reattach.tick(clock.t + WINDOW)
    assert hung == [] and reattach.waiting() == []
