"""Mixing G.711 for a monitored call: a supervisor listening, whispering to the agent, or
barging in.

Only a monitored call pays for it; every other call keeps the plain relay. Each of the three legs
(customer, agent, supervisor) is *tapped*: the payload of every G.711 packet it sends is queued
for the outputs that hear it. An output is a `Player` on the pacer's 20 ms clock that sends, per
tick, one frame from each of the two legs it hears, summed:

| mode    | supervisor hears  | agent hears          | customer hears        |
|---------|-------------------|----------------------|-----------------------|
| listen  | customer + agent  | customer (relay)     | agent (relay)         |
| whisper | customer + agent  | customer + supervisor| agent (relay)         |
| barge   | customer + agent  | customer + supervisor| agent + supervisor    |

An output replaces the relay to its leg (a leg with a player hears the player, endpoint.py), so a
leg that still hears only its partner keeps the relay's zero added delay. Summing two G.711
samples with clipping is one lookup in a 65,536-entry table per output codec (decode both, add,
clip to 16 bits, encode, computed once), so a frame costs one pass over its 160 bytes.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from functools import cache

from ringdesk.media import g711
from ringdesk.media.endpoint import Endpoint
from ringdesk.media.pacer import Pacer, Player
from ringdesk.media.rtp import payload_bounds

QUEUE_FRAMES = 5  # frames kept per heard leg (100 ms); older ones are dropped, never delayed


class MonitorMode(enum.StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


@cache
def sum_table(payload_type: int) -> bytes:
    """code_a << 8 | code_b -> the code of the clipped sum of both samples, in one codec."""
    linear = g711.ULAW_TO_LINEAR if payload_type == g711.PCMU else g711.ALAW_TO_LINEAR
    encode = g711.ulaw_encode_sample if payload_type == g711.PCMU else g711.alaw_encode_sample
    out = bytearray(65536)
    for a in range(256):
        la = linear[a]
        row = a << 8
        for b in range(256):
            total = la + linear[b]
            out[row | b] = encode(32767 if total > 32767 else -32768 if total < -32768 else total)
    return bytes(out)


def mix2(a: bytes, b: bytes, payload_type: int) -> bytes:
    """Two frames of one codec summed sample by sample (the longer one's tail as it is)."""
    table = sum_table(payload_type)
    n = min(len(a), len(b))
    mixed = bytes([table[x << 8 | y] for x, y in zip(a[:n], b[:n], strict=True)])
    return mixed + (a[n:] if len(a) > n else b[n:])


class MixOutput(Player):
    """What one leg hears while monitored: the sum of two other legs, one frame per tick."""

    def __init__(self, endpoint: Endpoint, heard: tuple[Endpoint, Endpoint]) -> None:
        super().__init__(endpoint, loop=True, on_done=None, frames=None)
        self.heard = heard
        self.queues: dict[Endpoint, deque[tuple[bytes, int]]] = {
            leg: deque(maxlen=QUEUE_FRAMES) for leg in heard
        }
        self.mixed = 0  # frames sent that summed two legs

    def tick(self, now: float) -> bool:
        out_pt = self.endpoint.payload_type
        parts: list[bytes] = []
        for queue in self.queues.values():
            if queue:
                payload, pt = queue.popleft()
                if pt != out_pt:
                    table = g711.transcode_table(pt, out_pt)
                    if table is not None:
                        payload = payload.translate(table)
                parts.append(payload)
        if not parts:
            self.new_spurt = True  # both silent (DTX, a stall): the next frame starts a spurt
            return True
        if len(parts) == 2:
            payload = mix2(parts[0], parts[1], out_pt)
            self.mixed += 1
        else:
            payload = parts[0]
        self.endpoint.send_frame(payload, out_pt, now, self.new_spurt)
        self.new_spurt = False
        return True


class Monitor:
    """A supervisor on one call: the taps on its three legs and the outputs the mode needs."""

    def __init__(
        self,
        pacer: Pacer,
        customer: Endpoint,
        agent: Endpoint,
        supervisor: Endpoint,
        stop_player: Callable[[Endpoint], None],
    ) -> None:
        self.pacer = pacer
        self.customer = customer
        self.agent = agent
        self.supervisor = supervisor
        self._stop_player = stop_player
        self.mode: MonitorMode | None = None
        self.outputs: dict[Endpoint, MixOutput] = {}
        for leg in (customer, agent, supervisor):
            leg.tap = self

    @property
    def legs(self) -> tuple[Endpoint, Endpoint, Endpoint]:
        return (self.customer, self.agent, self.supervisor)

    def heard(self, source: Endpoint, data: bytes) -> None:
        """An RTP packet the leg sent (plain, after SRTP): queued for whoever hears that leg."""
        payload_type = data[1] & 0x7F
        if payload_type not in g711.CODECS:
            return  # a telephone-event or comfort noise: not audio to sum
        bounds = payload_bounds(data)
        if bounds is None:
            return
        payload = data[bounds[0] : bounds[1]]
        for output in self.outputs.values():
            queue = output.queues.get(source)
            if queue is not None:
                queue.append((payload, payload_type))

    def set_mode(self, mode: MonitorMode) -> None:
        """Who hears whom now (the table above); the supervisor always hears both."""
        self.mode = mode
        wanted: dict[Endpoint, tuple[Endpoint, Endpoint]] = {
            self.supervisor: (self.customer, self.agent)
        }
        if mode in (MonitorMode.WHISPER, MonitorMode.BARGE):
            wanted[self.agent] = (self.customer, self.supervisor)
        if mode is MonitorMode.BARGE:
            wanted[self.customer] = (self.agent, self.supervisor)
        for leg in list(self.outputs):
            if leg not in wanted:
                self._end_output(leg)
        for leg, heard in wanted.items():
            if leg not in self.outputs:
                self._stop_player(leg)  # a sound playing to it gives way to the mix
                output = MixOutput(leg, heard)
                leg.player = output
                leg.stop_feed()
                self.outputs[leg] = output
                self.pacer.add(output)

    def _end_output(self, leg: Endpoint) -> None:
        output = self.outputs.pop(leg)
        self.pacer.remove(output)
        if leg.player is output:
            leg.player = None
            leg.stop_feed()  # the relay (or whatever feeds it next) starts a new spurt

    def end(self) -> None:
        """The taps and outputs off: the call is a plain relay again."""
        for leg in list(self.outputs):
            self._end_output(leg)
        for leg in self.legs:
            if leg.tap is self:
                leg.tap = None
