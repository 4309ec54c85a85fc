"""The generated part of docs/api-contract.md: every REST endpoint and every JSON shape, rendered
from the app's OpenAPI document, so the contract cannot drift from the code.

    python -m ringdesk.web.contract            # rewrite the generated part of the file
    python -m ringdesk.web.contract --check    # exit 1 when the file is out of date

tests/api/test_contract.py runs the check. The prose around the generated part (what an
endpoint does, its error codes) stays hand-written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

BEGIN = "<!-- generated from /openapi.json by `python -m ringdesk.web.contract`: do not edit -->"
END = "<!-- end of the generated part -->"
CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "api-contract.md"
METHODS = ("get", "post", "put", "patch", "delete")
_SCALARS = {"integer": "int", "number": "number", "boolean": "bool", "string": "string"}


def openapi() -> dict[str, Any]:
    """The app's OpenAPI document, from an app around a runtime that is never started."""
    from ringdesk.config import Settings
    from ringdesk.runtime import Runtime
    from ringdesk.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp)))
        try:
            return create_app(runtime, manage_runtime=False).openapi()
        finally:
            runtime.db_engine.dispose()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_text(schema: Mapping[str, Any]) -> str:
    """A schema as the contract writes it: `int`, `string | null`, `[Ticket]`, `Call | null`."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema:
        return " | ".join(type_text(part) for part in schema["anyOf"])
    if "enum" in schema:
        return "|".join(f'"{value}"' for value in schema["enum"])
    if "const" in schema:
        return f'"{schema["const"]}"'
    kind = schema.get("type")
    if kind == "array":
        return f"[{type_text(schema.get('items', {}))}]"
    if kind == "null":
        return "null"
    if kind == "object":
        return "object"
    return _SCALARS.get(str(kind), "any")


def _json_schema(content: Mapping[str, Any]) -> Mapping[str, Any] | None:
    media = content.get("application/json")
    return media.get("schema") if media else None


def _response(operation: Mapping[str, Any]) -> tuple[str, str]:
    """The success status and what it carries."""
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        content = response.get("content", {})
        schema = _json_schema(content)
        if schema is not None:
            return status, type_text(schema)
        kinds = [kind for kind in content if kind != "application/json"]
        return status, ", ".join(kinds) if kinds else "-"
    return "-", "-"


def _request(operation: Mapping[str, Any]) -> str:
    body = operation.get("requestBody")
    if body is None:
        return "-"
    schema = _json_schema(body["content"])
    if schema is not None:
        return type_text(schema)
    return ", ".join(body["content"])  # multipart/form-data (a sound upload)


def _query(operation: Mapping[str, Any]) -> str:
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    return "?" + "&".join(f"{name}=" for name in names) if names else ""


def endpoints(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str, str]]:
    """(method, path with its query, request body, success status, response) per endpoint."""
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                yield (
                    method.upper(),
                    path + _query(operation),
                    _request(operation),
                    *_response(operation),
                )


def _referenced(doc: Mapping[str, Any], part: str) -> list[str]:
    """The shapes the responses (part "responses") or the request bodies (part "requestBody")
    use, directly or inside another shape, in first-use order."""
    schemas = doc["components"]["schemas"]
    seen: dict[str, None] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                name = _ref_name(node["$ref"])
                if name not in seen:
                    seen[name] = None
                    visit(schemas[name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for item in doc["paths"].values():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            if part == "requestBody":
                visit(operation.get("requestBody", {}).get("content", {}).get("application/json"))
                continue
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    visit(response.get("content", {}))
    return list(seen)


def fields(schema: Mapping[str, Any]) -> list[str]:
    """`name: type` per property; a key that may be missing is marked with `?`."""
    required = set(schema.get("required", ()))
    return [
        f"{name}{'' if name in required else '?'}: {type_text(prop)}"
        for name, prop in schema.get("properties", {}).items()
    ]


def render(doc: Mapping[str, Any]) -> str:
    lines = [
        BEGIN,
        "## Endpoints",
        "| method | path | body | status | response |",
        "|---|---|---|---|---|",
    ]
    for method, path, body, status, response in endpoints(doc):
        lines.append(f"| {method} | `{path}` | {_cell(body)} | {status} | {_cell(response)} |")
    schemas = doc["components"]["schemas"]
    for title, part in (("Response shapes", "responses"), ("Request bodies", "requestBody")):
        lines += ["", f"## {title}"]
        for name in _referenced(doc, part):
            lines.append(f"- **{name}** `{{{', '.join(fields(schemas[name]))}}}`")
    lines.append(END)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return f"`{text}`" if text != "-" else text


def updated(text: str, generated: str) -> str:
    """The contract with its generated part replaced (appended when it has none yet)."""
    if BEGIN not in text:
        return text.rstrip("\n") + "\n\n" + generated
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END + "\n", 1)
    return head + generated + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ringdesk.web.contract")
    parser.add_argument("--check", action="store_true", help="only report whether it is current")
    args = parser.parse_args(argv)
    current = CONTRACT.read_text(encoding="utf-8")
    wanted = updated(current, render(openapi()))
    if args.check:
        if wanted != current:
            print(
                f"{CONTRACT} is out of date: run python -m ringdesk.web.contract", file=sys.stderr
            )
            return 1
        return 0
    if wanted != current:
        CONTRACT.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
