"""docs/api-contract.md against the app's OpenAPI document: the generated part (endpoints and
shapes) is current, and the prose names exactly the endpoints and shapes the server has."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ringdesk.web import contract

METHODS = "GET|POST|PUT|PATCH|DELETE"
# `GET /api/x`, `GET/POST /api/x/{id}`: the methods and the path, without a query string.
NAMED = re.compile(rf"`((?:{METHODS})(?:/(?:{METHODS}))*) (/api/[^`?\s]*)")
SHAPE = re.compile(r"(?:->|data =) ([A-Z][A-Za-z]+)")
WEBSOCKET = "/api/ws"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return contract.openapi()


@pytest.fixture(scope="module")
def text() -> str:
    return contract.CONTRACT.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    return text.split(contract.BEGIN, 1)[0]


def _template(path: str) -> str:
    """`/api/admin/services/{id}` and `/api/admin/services/{service_id}` are the same endpoint."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_generated_part_is_current(doc: dict[str, Any], text: str) -> None:
    assert contract.BEGIN in text and contract.END in text
    assert contract.updated(text, contract.render(doc)) == text, (
        "docs/api-contract.md is out of date: run python -m ringdesk.web.contract"
    )


def test_the_prose_names_every_endpoint_and_only_real_ones(doc: dict[str, Any], text: str) -> None:
    served = {
        (method.upper(), _template(path))
        for path, item in doc["paths"].items()
        for method in item
        if method in contract.METHODS
    }
    named = {
        (method, _template(path))
        for methods, path in NAMED.findall(_prose(text))
        if path != WEBSOCKET
        for method in methods.split("/")
    }
    assert named - served == set(), "named in docs/api-contract.md but not served"
    assert served - named == set(), "served but not described in docs/api-contract.md"


def test_the_prose_names_real_shapes(doc: dict[str, Any], text: str) -> None:
    shapes = set(doc["components"]["schemas"])
    named = set(SHAPE.findall(_prose(text)))
    assert named, "the prose names the shapes endpoints return"
    assert named - shapes == set()


def test_every_response_has_a_declared_shape(doc: dict[str, Any]) -> None:
    """No endpoint answers JSON of an undeclared shape (a bare object or Any)."""
    vague = [
        (method, path)
        for method, path, _, _, response in contract.endpoints(doc)
        if response in ("object", "any", "[object]", "[any]")
    ]
    assert vague == []
