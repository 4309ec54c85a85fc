"""Which legs' media the relay joins: the one record of bridged pairs, kept next to the media
server's own bridges (every bridge and unbridge of a pair goes through here), and the partner
a held leg gets back on resume. Keyed by leg id, as the media server is: a forked agent leg
keeps its bridge whichever of its branches answers."""

from __future__ import annotations

from .shared import SwitchState


class Bridges:
    def __init__(self, state: SwitchState) -> None:
        self.state = state
        self._partner: dict[str, str] = {}  # both ways: a -> b and b -> a
        self._held: dict[str, str] = {}  # a held leg -> the partner it had

    def partner(self, leg_id: str) -> str | None:
        return self._partner.get(leg_id)

    def join(self, a: str, b: str) -> None:
        """Relay a's media to b and b's to a (a leg may be joined with itself: an echo)."""
        assert self.state.media is not None
        self.state.media.bridge(a, b)
        self._partner[a] = b
        self._partner[b] = a

    def split(self, leg_id: str) -> None:
        """Stop relaying between the leg and its partner, if it has one."""
        if self._unpair(leg_id) is not None:
            assert self.state.media is not None
            self.state.media.unbridge(leg_id)

    def hold(self, leg_id: str) -> None:
        """Split the leg from its partner, remembered for resume()."""
        partner = self._unpair(leg_id)
        if partner is not None:
            self._held[leg_id] = partner
            assert self.state.media is not None
            self.state.media.unbridge(leg_id)

    def resume(self, leg_id: str) -> None:
        """Join a held leg again with the partner it had, if that one is still there and free."""
        partner = self.state.legs.get(self._held.pop(leg_id, ""))
        if partner is not None and not partner.ended and partner.leg_id not in self._partner:
            self.join(leg_id, partner.leg_id)

    def forget_held(self, leg_id: str) -> None:
        """The held leg is bridged anew: nothing to resume."""
        self._held.pop(leg_id, None)

    def drop(self, leg_id: str) -> None:
        """The leg ended: no partner, nothing to resume. The media server forgets its bridge
        with the leg's endpoint (see Teardown.release)."""
        self._unpair(leg_id)
        self._held.pop(leg_id, None)

    def _unpair(self, leg_id: str) -> str | None:
        partner = self._partner.pop(leg_id, None)
        if partner is not None:
            self._partner.pop(partner, None)
        return partner
