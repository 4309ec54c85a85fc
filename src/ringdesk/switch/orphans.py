"""Dialogs left from before a restart that wait for their phone to register again.

After a crash the switch sends a BYE to every dialog that was live (persist.py). A phone that
talks to us over TCP, TLS or a WebSocket cannot be reached that way: it is reached only over
the connection it opened, and that connection died with the switch. Such a phone opens a new
one and registers again within seconds; so its dialogs wait here, keyed by the agent, and when
that agent's phone registers they get their BYE over the new connection. A phone that does not
come back within WAIT seconds is not in a call we could end: its dialogs are dropped.

Pure bookkeeping; the switch sends the BYEs (b2bua.py).
"""

from __future__ import annotations

from dataclasses import dataclass

WAIT = 300.0  # seconds a dialog waits for its phone to register again
DialogKey = tuple[str, str]  # (Call-ID, our tag)


@dataclass(slots=True)
class _Waiting:
    cti_id: str
    deadline: float


class WaitingOrphans:
    def __init__(self, wait: float = WAIT) -> None:
        self.wait = wait
        self._waiting: dict[DialogKey, _Waiting] = {}

    def add(self, key: DialogKey, cti_id: str, now: float) -> None:
        self._waiting[key] = _Waiting(cti_id, now + self.wait)

    def __contains__(self, key: object) -> bool:
        return key in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def discard(self, key: DialogKey) -> None:
        self._waiting.pop(key, None)

    def registered(self, cti_id: str, now: float) -> list[DialogKey]:
        """The agent's phone registered: its waiting dialogs, taken out (their BYE is due)."""
        keys = [k for k, w in self._waiting.items() if w.cti_id == cti_id and now < w.deadline]
        for key in keys:
            del self._waiting[key]
        return keys

    def expire(self, now: float) -> list[DialogKey]:
        """The dialogs whose phone did not come back in time, taken out."""
        keys = [k for k, w in self._waiting.items() if now >= w.deadline]
        for key in keys:
            del self._waiting[key]
        return keys
