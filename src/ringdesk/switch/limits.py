"""How many inbound calls are live, per source address and in total, and the INVITEs refused
at the SIP edge by reason (docs/security.md, "Inbound calls: trust and limits").

Pure bookkeeping, no I/O: inbound.py asks `refusal` before it takes a call, `add`s the customer's
leg when it does, and teardown.py `remove`s it when the leg ends. The per-source count is by
address only, as the gate's limits are (the port is the caller's to choose); the trunk is
exempt from it (one carrier brings everyone's calls) but counts in the total.

The per-service queue limit is not here: whether a call can wait is the engine's decision
(core/calls.py), which the switch carries out with a 486 like any other hang-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ringdesk.core.telephony import QUEUE_FULL

# Why an INVITE was refused at the edge; every reason is counted, whether it ever happened.
UNTRUSTED = "untrusted"  # not from the trunk while allow_any_source is off: 403
SOURCE_LIMIT = "source_limit"  # its address has max_calls_per_source live calls: 486
TOTAL_LIMIT = "total_limit"  # max_calls_total live inbound calls: 503 with Retry-After
# QUEUE_FULL: the engine refused it, its service's queue being full: 486
REASONS = (UNTRUSTED, SOURCE_LIMIT, TOTAL_LIMIT, QUEUE_FULL)
RETRY_AFTER = 10  # seconds, in the 503 at the total limit


@dataclass(frozen=True, slots=True)
class CallLimits:
    """The limits the switch enforces; None: no limit (the settings give the real defaults)."""

    per_source: int | None = None  # live inbound calls from one address that is not the trunk
    total: int | None = None  # live inbound calls in all


class CallCounts:
    def __init__(self) -> None:
        self._sources: dict[str, str] = {}  # live customer leg id -> its source address
        self._per_source: dict[str, int] = {}
        self.refused: dict[str, int] = dict.fromkeys(REASONS, 0)

    @property
    def total(self) -> int:
        return len(self._sources)

    def of(self, address: str) -> int:
        return self._per_source.get(address, 0)

    def refusal(self, address: str, from_trunk: bool, limits: CallLimits) -> str | None:
        """Why a new call from `address` must be refused (counted), None when it may come in."""
        reason = None
        if limits.total is not None and self.total >= limits.total:
            reason = TOTAL_LIMIT
        elif (
            not from_trunk
            and limits.per_source is not None
            and self.of(address) >= limits.per_source
        ):
            reason = SOURCE_LIMIT
        if reason is not None:
            self.refused[reason] += 1
        return reason

    def count_refusal(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1

    def add(self, leg_id: str, address: str) -> None:
        if leg_id in self._sources:
            return
        self._sources[leg_id] = address
        self._per_source[address] = self._per_source.get(address, 0) + 1

    def remove(self, leg_id: str) -> None:
        address = self._sources.pop(leg_id, None)
        if address is None:
            return
        left = self._per_source[address] - 1
        if left:
            self._per_source[address] = left
        else:
            del self._per_source[address]
