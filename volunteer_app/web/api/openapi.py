"""The OpenAPI 3.1 document, built from the registered endpoints and their schemas."""
from __future__ import annotations

import re

from flask import jsonify

from ...parsing import MAX_ID
from ...schemas import Problem
from .base import ENDPOINTS, bp

_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _schema(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization"
                                     if not model.__name__.endswith(("Request", "Create", "Add", "Query", "Update"))
                                     else "validation")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _health_response(status: str) -> dict:
    return {"description": f"status {status}", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}}}}


def build_document() -> dict:
    components: dict = {}
    problem_ref = _schema(Problem, components)
    problem_response = {"description": "A problem", "content": {"application/problem+json": {"schema": problem_ref}}}
    paths: dict = {}
    for endpoint in ENDPOINTS:
        path = _PATH_PARAM.sub(r"{\2}", endpoint.rule)
        path = "/api/v1" + path if not path.startswith("/healthz") else path
        operation: dict = {"summary": endpoint.summary, "tags": [endpoint.tag],
                           "operationId": f"{endpoint.tag}_{endpoint.view.__name__}", "responses": {}}
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
                  for _, name in _PATH_PARAM.findall(endpoint.rule)]
        if endpoint.query is not None:
            query_schema = endpoint.query.model_json_schema()
            for name, prop in query_schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in query_schema.get("required", []),
                               "schema": prop})
        if params:
            operation["parameters"] = params
        if endpoint.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(endpoint.body, components)}}}
        if endpoint.multipart is not None:
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": endpoint.multipart}}}
        ok: dict = {"description": "Success"}
        if endpoint.status != 204:
            if endpoint.response is not None:
                ok["content"] = {"application/json": {"schema": _schema(endpoint.response, components)}}
            elif endpoint.extra.get("produces"):
                ok["content"] = {endpoint.extra["produces"]: {"schema": {"type": "string"}}}
        operation["responses"][str(endpoint.status)] = ok
        if endpoint.idempotent:
            operation["responses"]["200"] = {"description": "The first answer to this client_ref", **{
                key: value for key, value in ok.items() if key == "content"}}
        operation["responses"]["4XX"] = problem_response
        if endpoint.auth:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[endpoint.method.lower()] = operation
    paths["/healthz"] = {"get": {
        "summary": "Health: whether the database answers", "tags": ["operations"], "operationId": "healthz",
        "responses": {"200": _health_response("ok"), "503": _health_response("unavailable")}}}
    paths["/api/v1/openapi.json"] = {"get": {
        "summary": "This document", "tags": ["operations"], "operationId": "openapi_document",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {
            "schema": {"type": "object"}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Volunteer police engagement platform", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_document())
