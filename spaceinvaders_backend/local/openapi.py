"""The OpenAPI 3 document of the local server, built from its operations and their typed bodies and answers.

msgspec emits the JSON Schema of every request and answer struct; the paths, groups, query parameters and
error statuses come from the same `Operation`s that route the requests.
"""
from __future__ import annotations

from typing import Any

import msgspec

from ..core.answers import ErrorBody
from .api.operation import Operation

REF = "#/components/schemas/{name}"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _query_schema(query: Any) -> dict[str, Any]:
    if query.type != "string":
        bounds = {"minimum": query.minimum, "maximum": query.maximum}
        return {"type": query.type, **{name: value for name, value in bounds.items() if value is not None}}
    return {"type": "string", **({"enum": list(query.enum)} if query.enum else {"minLength": 1})}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 has no `null` type: `anyOf [X, null]` becomes X with `nullable`."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        return {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), "nullable": True}
    return schema


def _to_openapi_30(node: Any) -> Any:
    if isinstance(node, dict):
        return _nullable({k: _to_openapi_30(v) for k, v in node.items()})
    if isinstance(node, list):
        return [_to_openapi_30(v) for v in node]
    return node


def _errors(op: Operation) -> list[int]:
    codes = set(op.errors)
    if op.group is not None:
        codes |= {401, 403}
    if op.body is not None:
        codes |= {400, 408, 413, 415, 422}
    return sorted(codes)


def build(operations: list[Operation]) -> dict[str, Any]:
    types = [t for op in operations for t in (op.body, op.answer, *(a for _, a in op.other_answers))
             if t is not None] + [ErrorBody]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = dict(zip([id(t) for t in types], schemas))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        if op.answer is not None:
            ok = {"description": "Success", **_json(schema_of[id(op.answer)])}
        else:
            ok = {"description": "Success", "content": {media: {"schema": {"type": "string"}} for media in op.media}}
        if op.headers:
            ok["headers"] = {name: {"description": text, "schema": {"type": "integer", "minimum": 0}}
                             for name, text in op.headers}
        doc: dict[str, Any] = {"summary": op.summary, "responses": {str(op.status): ok}}
        if op.group is not None:
            doc["security"] = [{"idToken": []}]
            doc["description"] = f"Needs the {op.group} group."
        if op.body is not None:
            doc["requestBody"] = {"required": op.body_required, **_json(schema_of[id(op.body)])}
        for code in _errors(op):
            doc["responses"][str(code)] = {"description": "Error", **_json({"$ref": REF.format(name="ErrorBody")})}
        for code, answer in op.other_answers:
            doc["responses"][str(code)] = {"description": "Answer", **_json(schema_of[id(answer)])}
        if op.query:
            doc["parameters"] = [{"name": q.name, "in": "query", "required": q.required,
                                  "schema": _query_schema(q)} for q in op.query]
        paths.setdefault(op.path, {})[op.method.lower()] = doc
    return _to_openapi_30({
        "openapi": "3.0.3",
        "info": {"title": "Space Invaders API", "version": "1"},
        "servers": [{"url": "/v1"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"idToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                                            "description": "The ID token, raw or after `Bearer `."}},
        },
    })
