"""The TOTP second factor (RFC 6238, pyotp) and its one-time recovery codes.

A user's row in `user_totp` is made when enrolment starts and counts only once `enabled`, after
the user proved with a code that the authenticator app has the secret. The secret is read and
written here only (`_secret`, `_store_secret`), so it can be kept encrypted at rest in one place.

A code is accepted for the current 30-second step and one step either side (a phone clock a
little off), and only for a step later than the last one accepted: the conditional UPDATE that
records the step is what accepts it, so two requests racing with one code cannot both win.

Recovery codes are four groups of four characters. The first group is a lookup key kept in
clear, the other 60 random bits are kept only as an argon2 hash, so checking a code costs one
argon2 verification and a copy of the database does not give them away.
"""

from __future__ import annotations

import secrets
import time

import pyotp
import segno
from pyotp.utils import strings_equal
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.security import hash_password, verify_no_user, verify_password

ISSUER = "Ringdesk"
VALID_WINDOW = 1  # steps accepted either side of the current one
RECOVERY_CODES = 10
# Crockford's base32 alphabet in lower case: no i, l, o or u to misread.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_GROUPS, _GROUP = 4, 4


def new_secret() -> str:
    """A fresh random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app takes (typed in, or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_modules(uri: str) -> list[str]:
    """The QR code of `uri` (segno, error correction M) as rows of "1" (dark) and "0" (light)
    modules, without the quiet zone: the page draws them as an SVG path (a data: image or an
    inline one would need the CSP loosened)."""
    code = segno.make_qr(uri, error="m")
    return ["".join("1" if module else "0" for module in row) for row in code.matrix]


def _secret(row: m.UserTotp) -> str:
    return row.secret


def _store_secret(row: m.UserTotp, secret: str) -> None:
    row.secret = secret


def get(db: Session, *, user_id: int) -> m.UserTotp | None:
    return db.get(m.UserTotp, user_id)


def is_enabled(db: Session, *, user_id: int) -> bool:
    return bool(
        db.scalar(
            select(m.UserTotp.enabled).where(
                m.UserTotp.user_id == user_id, m.UserTotp.enabled.is_(True)
            )
        )
    )


def enabled_user_ids(db: Session) -> set[int]:
    return set(db.scalars(select(m.UserTotp.user_id).where(m.UserTotp.enabled.is_(True))))


def start(db: Session, *, user_id: int, secret: str) -> None:
    """Begin (or begin again) an enrolment with this secret; not enabled until confirmed."""
    row = db.get(m.UserTotp, user_id)
    if row is None:
        row = m.UserTotp(user_id=user_id, created_at=time.time(), enabled=False)
        db.add(row)
    row.enabled = False
    row.enabled_at = None
    row.last_step = None
    row.created_at = time.time()
    _store_secret(row, secret)
    db.commit()


def _matching_step(secret: str, code: str, after: int | None, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Every step is compared (no early exit), so the time taken does not depend on which.
        if strings_equal(code, totp.generate_otp(step)) and (after is None or step > after):
            found = step
    return found


def check_code(
    db: Session, *, user_id: int, code: str, now: float | None = None, pending: bool = False
) -> bool:
    """True, once, for a current code of the user's secret; records its step against replay.

    `pending`: the enrolment being confirmed (not yet enabled) rather than the enabled factor.
    """
    row = db.get(m.UserTotp, user_id)
    if row is None or row.enabled is pending:
        return False
    step = _matching_step(
        _secret(row), code.strip(), row.last_step, time.time() if now is None else now
    )
    if step is None:
        return False
    result = db.execute(
        update(m.UserTotp)
        .where(
            m.UserTotp.user_id == user_id,
            (m.UserTotp.last_step.is_(None)) | (m.UserTotp.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


def enable(db: Session, *, user_id: int) -> None:
    """The enrolment confirmed (check_code with pending=True said yes): codes are asked now."""
    row = db.get(m.UserTotp, user_id)
    if row is not None:
        db.refresh(row)
        row.enabled = True
        row.enabled_at = time.time()
        db.commit()


def delete(db: Session, *, user_id: int) -> bool:
    """Remove the second factor and its recovery codes; True when there was one."""
    db.execute(sql_delete(m.RecoveryCode).where(m.RecoveryCode.user_id == user_id))
    result = db.execute(sql_delete(m.UserTotp).where(m.UserTotp.user_id == user_id))
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0) > 0


# ---- recovery codes ---------------------------------------------------------------------------
def _random_group() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP))


def normalise_recovery_code(code: str) -> str:
    """Lower case, without the dashes and spaces people type or paste."""
    return "".join(c for c in code.lower() if c not in "- \t")


def replace_recovery_codes(db: Session, *, user_id: int) -> list[str]:
    """A new set of recovery codes (the old ones stop working); returns them, the only time
    they exist in clear. Slow on purpose: ten argon2 hashes."""
    codes: list[str] = []
    lookups: set[str] = set()
    while len(codes) < RECOVERY_CODES:
        lookup = _random_group()
        if lookup in lookups:
            continue
        lookups.add(lookup)
        codes.append("-".join([lookup, *(_random_group() for _ in range(_GROUPS - 1))]))
    now = time.time()
    rows = [
        m.RecoveryCode(
            user_id=user_id,
            lookup=code[:_GROUP],
            code_hash=hash_password(normalise_recovery_code(code)[_GROUP:]),
            created_at=now,
        )
        for code in codes
    ]
    db.execute(sql_delete(m.RecoveryCode).where(m.RecoveryCode.user_id == user_id))
    db.add_all(rows)
    db.commit()
    return codes


def use_recovery_code(db: Session, *, user_id: int, code: str) -> bool:
    """True, once, for an unused recovery code of the user; it is spent by this call."""
    clear = normalise_recovery_code(code)
    lookup, rest = clear[:_GROUP], clear[_GROUP:]
    row = db.scalar(
        select(m.RecoveryCode).where(
            m.RecoveryCode.user_id == user_id,
            m.RecoveryCode.lookup == lookup,
            m.RecoveryCode.used_at.is_(None),
        )
    )
    if row is None or len(clear) != _GROUP * _GROUPS:
        verify_no_user(rest)  # the same argon2 work, so timing does not tell a lookup exists
        return False
    if not verify_password(row.code_hash, rest):
        return False
    result = db.execute(
        update(m.RecoveryCode)
        .where(m.RecoveryCode.id == row.id, m.RecoveryCode.used_at.is_(None))
        .values(used_at=time.time())
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


def recovery_codes_left(db: Session, *, user_id: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(m.RecoveryCode)
            .where(m.RecoveryCode.user_id == user_id, m.RecoveryCode.used_at.is_(None))
        )
        or 0
    )
