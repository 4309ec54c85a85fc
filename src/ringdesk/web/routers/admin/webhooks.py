"""Webhooks for CRMs and helpdesks (docs/guide/webhooks.md): the URLs an admin registers with
the events they want, their secret (made here, shown at creation and on rotation only), the
log of their deliveries, a test event and the re-sending of a failed delivery. Admins only:
an admin may point a webhook at any address, the internal ones included (our choice; an
admin can configure trunks and sounds as well)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from ringdesk.store import models as m
from ringdesk.store import webhooks as store
from ringdesk.store.unit import Db
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, found
from ringdesk.web.routers.admin.common import PREFIX, Id
from ringdesk.web.schemas import Body

router = APIRouter(prefix=PREFIX, tags=["admin"])

EventName = Literal[
    "call.offered", "call.answered", "call.ended", "ticket.opened", "ticket.updated", "agent.status"
]
assert get_args(EventName) == store.EVENTS


def _url(value: str) -> str:
    """An http or https URL with a host and no credentials in it."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise PydanticCustomError("webhook_url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError("webhook_url", "must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise PydanticCustomError(
            "webhook_url", "must not carry credentials (the signature authenticates us)"
        )
    if any(c.isspace() for c in text):
        raise PydanticCustomError("webhook_url", "must not contain spaces")
    return text


WebhookUrl = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_url)]
Events = Annotated[list[EventName], Field(min_length=1, max_length=len(store.EVENTS))]
Description = Annotated[str, Field(max_length=200)]


class WebhookBody(Body):
    url: WebhookUrl
    events: Events
    description: Description = ""
    enabled: bool = True


class WebhookPatch(Body):
    """What is given changes; the secret only by POST .../secret."""

    url: WebhookUrl | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None


class Webhook(TypedDict):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: str
    pending: int  # deliveries waiting to be sent (or retried)
    failed: int  # deliveries given up (kept a week, may be re-sent)


class WebhookWithSecret(Webhook):
    """At creation only: the secret to verify the signatures with (docs/guide/webhooks.md)."""

    secret: str


class WebhookSecret(TypedDict):
    secret: str


class WebhookEvents(TypedDict):
    events: list[str]


class WebhookDelivery(TypedDict):
    id: int
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: str
    next_try_at: str | None  # while pending
    delivered_at: str | None
    last_status_code: int | None
    last_error: str | None
    payload: str  # the JSON body sent


class WebhookDeliveryPage(TypedDict):
    items: list[WebhookDelivery]
    total: int


def _counts(db: Db, webhook_id: int) -> tuple[int, int]:
    _, pending = store.deliveries(db, webhook_id=webhook_id, limit=1, offset=0, status="pending")
    _, failed = store.deliveries(db, webhook_id=webhook_id, limit=1, offset=0, status="failed")
    return pending, failed


def _json(db: Db, row: m.Webhook) -> Webhook:
    pending, failed = _counts(db, row.id)
    return {
        "id": row.id,
        "url": row.url,
        "events": store.parse_events(row.events),
        "description": row.description,
        "enabled": row.enabled,
        "created_at": store.iso(row.created_at),
        "pending": pending,
        "failed": failed,
    }


def _delivery_json(d: m.WebhookDelivery) -> WebhookDelivery:
    status: Literal["pending", "delivered", "failed"] = (
        "delivered" if d.status == "delivered" else "failed" if d.status == "failed" else "pending"
    )
    return {
        "id": d.id,
        "event": d.event,
        "status": status,
        "attempts": d.attempts,
        "created_at": store.iso(d.created_at),
        "next_try_at": store.iso(d.next_try_at) if status == "pending" else None,
        "delivered_at": store.iso(d.delivered_at) if d.delivered_at is not None else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "payload": d.payload,
    }


def _webhook(db: Db, webhook_id: int) -> m.Webhook:
    return found(store.get(db, webhook_id=webhook_id), f"No webhook {webhook_id}.")


@router.get("/webhooks/events")
def webhook_events(_: Admin) -> WebhookEvents:
    """The event names a webhook may subscribe to."""
    return {"events": list(store.EVENTS)}


@router.get("/webhooks")
def list_webhooks(_: Admin, runtime: RuntimeDep) -> list[Webhook]:
    with runtime.db() as db:
        return [_json(db, row) for row in store.list_(db)]


@router.post("/webhooks", status_code=201)
def add_webhook(body: WebhookBody, _: Admin, runtime: RuntimeDep) -> WebhookWithSecret:
    with runtime.db() as db:
        row = store.create(
            db,
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
            now=runtime.clock(),
        )
        result: WebhookWithSecret = {**_json(db, row), "secret": row.secret}
    runtime.webhooks.refresh()
    return result


@router.get("/webhooks/{webhook_id}")
def get_webhook(webhook_id: Id, _: Admin, runtime: RuntimeDep) -> Webhook:
    with runtime.db() as db:
        return _json(db, _webhook(db, webhook_id))


@router.patch("/webhooks/{webhook_id}")
def edit_webhook(webhook_id: Id, body: WebhookPatch, _: Admin, runtime: RuntimeDep) -> Webhook:
    given = body.model_fields_set
    for name in ("url", "events", "enabled"):
        if name in given and getattr(body, name) is None:
            raise ApiError(
                422,
                "invalid_input",
                f"{name} cannot be null.",
                extra={"fields": [{"field": f"body.{name}", "message": "cannot be null"}]},
            )
    with runtime.db() as db:
        row = store.update(
            db,
            webhook=_webhook(db, webhook_id),
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
        )
        result = _json(db, row)
    runtime.webhooks.refresh()
    return result


@router.delete("/webhooks/{webhook_id}", status_code=204)
def remove_webhook(webhook_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        store.delete(db, webhook=_webhook(db, webhook_id))
    runtime.webhooks.refresh()
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/secret")
def rotate_webhook_secret(webhook_id: Id, _: Admin, runtime: RuntimeDep) -> WebhookSecret:
    """A new secret: the deliveries from now on are signed with it (the receiver must be
    given it; the old one stops verifying at once)."""
    with runtime.db() as db:
        return {"secret": store.rotate_secret(db, webhook=_webhook(db, webhook_id))}


@router.post("/webhooks/{webhook_id}/ping", status_code=202)
def ping_webhook(webhook_id: Id, _: Admin, runtime: RuntimeDep) -> WebhookDelivery:
    """Queue a `ping` event for this webhook (behind its other deliveries); its delivery
    shows in the log."""
    with runtime.db() as db:
        row = _webhook(db, webhook_id)
        if not row.enabled:
            raise ApiError(409, "webhook_disabled", "The webhook is disabled: enable it first.")
        result = _delivery_json(store.ping(db, webhook=row, now=runtime.clock()))
    runtime.webhooks.poke()
    return result


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: Id,
    _: Admin,
    runtime: RuntimeDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WebhookDeliveryPage:
    """The webhook's deliveries, newest first (kept a week)."""
    with runtime.db() as db:
        _webhook(db, webhook_id)
        rows, total = store.deliveries(
            db, webhook_id=webhook_id, limit=limit, offset=offset, status=status
        )
        return {"items": [_delivery_json(d) for d in rows], "total": total}


DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", status_code=202)
def resend_delivery(
    webhook_id: Id, delivery_id: DeliveryId, _: Admin, runtime: RuntimeDep
) -> WebhookDelivery:
    """A failed delivery sent again: a new delivery with the same body (the same event id),
    at the end of the webhook's queue."""
    with runtime.db() as db:
        _webhook(db, webhook_id)
        original = found(
            store.delivery(db, webhook_id=webhook_id, delivery_id=delivery_id),
            f"No delivery {delivery_id} of webhook {webhook_id}.",
        )
        if original.status != "failed":
            raise ApiError(
                409,
                "delivery_not_failed",
                f"The delivery is {original.status}: only a failed one is sent again.",
            )
        result = _delivery_json(store.resend(db, original=original, now=runtime.clock()))
    runtime.webhooks.poke()
    return result
