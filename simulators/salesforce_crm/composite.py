"""The composite resources: ``composite/sobjects`` (create up to 200 records) and
``composite`` (up to 25 subrequests chained by ``@{referenceId.path}`` references).

Subrequests are dispatched to the backend directly, not over HTTP, and answer with the same
status codes and bodies as the standalone resources.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import SalesforceError
from .models import DEFAULT_BATCH_SIZE, SUPPORTED_VERSIONS, SalesforceBackend

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the "
                           "request was using AllOrNone header", "fields": []}
_HALTED = {"errorCode": "PROCESSING_HALTED",
           "message": "The transaction was rolled back since another operation in the same "
                      "transaction failed."}


class _Rollback(Exception):
    pass


def _bad_request(message: str, code: str = "INVALID_FIELD") -> SalesforceError:
    return SalesforceError(400, code, message)


def create_collection(backend: SalesforceBackend, body: Any, version: str) -> list[dict[str, Any]]:
    """SaveResults, one per record, in order (the response is 200 even when some failed)."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise _bad_request("The request body must be an object with a 'records' array",
                           "JSON_PARSER_ERROR")
    records, all_or_none = body["records"], body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise _bad_request("allOrNone must be a boolean", "JSON_PARSER_ERROR")
    if not all(isinstance(r, dict) for r in records):
        # the whole body fails to deserialize, as in Salesforce
        raise _bad_request("Cannot deserialize instance of SObject from a non-object value "
                           "in 'records'", "JSON_PARSER_ERROR")
    if len(records) > MAX_COLLECTION:
        raise _bad_request(f"record limit reached. cannot submit more than {MAX_COLLECTION} "
                           "records into this call", "EXCEEDED_ID_LIMIT")
    results: list[dict[str, Any]] = []

    def save_all() -> None:
        failed = False
        for record in records:
            try:
                attributes = record.get("attributes")
                kind = attributes.get("type") if isinstance(attributes, dict) else None
                if not isinstance(kind, str):
                    raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
                new_id = backend.create(kind, record, version)
                results.append({"id": new_id, "success": True, "errors": []})
            except SalesforceError as err:
                failed = True
                results.append({"success": False, "errors": [err.as_save_error()]})
        if failed and all_or_none:
            raise _Rollback

    if not all_or_none:
        save_all()
        return results
    try:
        with backend.transaction():
            save_all()
    except _Rollback:
        return [r if not r["success"] else {"success": False, "errors": [_ROLLED_BACK]}
                for r in results]
    return results


def _resolve_refs(value: Any, done: dict[str, Any]) -> Any:
    """Replace every ``@{ref.path}`` in strings of ``value`` by the earlier response's value."""
    if isinstance(value, dict):
        return {k: _resolve_refs(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_refs(v, done) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(match: re.Match[str]) -> str:
        ref, path = match.group(1), match.group(2)
        current = done.get(ref)
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            key, index = step
            if key and isinstance(current, dict) and key in current:
                current = current[key]
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                current = None
                break
        if current is None or isinstance(current, dict | list):
            raise SalesforceError(400, "PROCESSING_HALTED",
                                  f"Invalid reference specified. No value for "
                                  f"{ref}{path} found in {ref}. Provided referenceId "
                                  f"('{ref}') must match a successful, earlier subrequest.")
        return str(current)

    return _REFERENCE.sub(lookup, value)


def _dispatch(backend: SalesforceBackend, method: str, url: str, body: Any,
              ) -> tuple[int, Any, dict[str, str]]:
    """One subrequest → (status, body, headers), raising SalesforceError on failure."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.strip("/").split("/")]
    if len(segments) < 4 or segments[:2] != ["services", "data"] \
            or not segments[2].startswith("v") or segments[2][1:] not in SUPPORTED_VERSIONS:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    version, rest = segments[2][1:], segments[3:]
    if rest[0] in ("query", "queryAll") and method == "GET":
        if len(rest) == 1 or (len(rest) == 2 and rest[1] == ""):
            q = parse_qs(parts.query).get("q", [None])[0]
            if q is None:
                raise SalesforceError(400, "MALFORMED_QUERY",
                                      "A query string must be provided (parameter 'q').")
            return 200, backend.query(q, include_deleted=rest[0] == "queryAll",
                                      batch_size=DEFAULT_BATCH_SIZE, version=version), {}
        return 200, backend.query_more(rest[1], version), {}
    if rest[0] != "sobjects" or len(rest) < 2:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    kind = rest[1]
    if len(rest) == 2 and method == "POST":
        new_id = backend.create(kind, body, version)
        return 201, {"id": new_id, "success": True, "errors": []}, {
            "Location": f"/services/data/v{version}/sobjects/{kind}/{new_id}"}
    if len(rest) == 3:
        if method == "GET":
            return 200, backend.get(kind, rest[2], version), {}
        if method == "PATCH":
            backend.update(kind, rest[2], body, version)
            return 204, None, {}
        if method == "DELETE":
            backend.delete(kind, rest[2])
            return 204, None, {}
    if len(rest) == 4 and method == "PATCH":
        created, rec_id = backend.upsert(kind, rest[2], rest[3], body, version)
        status = 201 if created else (204 if float(version) < 46.0 else 200)
        return status, None if status == 204 else {
            "id": rec_id, "success": True, "errors": [], "created": created}, {}
    if len(rest) == 4 and method == "GET":
        t = backend.sobject_type(kind)
        _, doc = backend.find_by_external_id(t, rest[2], rest[3])
        if doc is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return 200, backend.render(t, doc, version), {}
    raise SalesforceError(405, "METHOD_NOT_ALLOWED",
                          f"HTTP Method '{method}' not allowed for {parts.path}")


def run_composite(backend: SalesforceBackend, body: Any, version: str) -> dict[str, Any]:
    """``{"compositeResponse": [...]}`` for a ``compositeRequest`` list."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise _bad_request("The request body must be an object with a 'compositeRequest' "
                           "array", "JSON_PARSER_ERROR")
    subs, all_or_none = body["compositeRequest"], body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise _bad_request("allOrNone must be a boolean", "JSON_PARSER_ERROR")
    if not isinstance(body.get("collateSubrequests", False), bool):
        raise _bad_request("collateSubrequests must be a boolean", "JSON_PARSER_ERROR")
    if not subs or len(subs) > MAX_SUBREQUESTS:
        raise _bad_request(f"A composite request needs 1 to {MAX_SUBREQUESTS} subrequests",
                           "INVALID_INPUT" if subs else "JSON_PARSER_ERROR")
    seen: set[str] = set()
    for sub in subs:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(sub, dict) or not isinstance(sub.get("method"), str) \
                or not isinstance(sub.get("url"), str) or not isinstance(ref, str) \
                or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", ref) \
                or not isinstance(sub.get("httpHeaders", {}), dict):
            raise _bad_request("Each subrequest needs 'method', 'url' and a 'referenceId' "
                               "that starts with a letter and holds only letters, digits and "
                               "underscores", "JSON_PARSER_ERROR")
        if ref in seen:
            raise _bad_request(f"Duplicate referenceId provided in the request: {ref}",
                               "INVALID_INPUT")
        seen.add(ref)
    responses: list[dict[str, Any]] = []
    done: dict[str, Any] = {}

    def run_all() -> None:
        for sub in subs:
            ref = sub["referenceId"]
            try:
                url = _resolve_refs(sub["url"], done)
                sub_body = _resolve_refs(sub.get("body"), done)
                status, out, headers = _dispatch(backend, sub["method"].upper(), url, sub_body)
                done[ref] = out
                responses.append({"body": out, "httpHeaders": headers,
                                  "httpStatusCode": status, "referenceId": ref})
            except SalesforceError as err:
                responses.append({"body": [err.as_error()], "httpHeaders": {},
                                  "httpStatusCode": err.status, "referenceId": ref})
                if all_or_none:
                    raise _Rollback from None

    if not all_or_none:
        run_all()
        return {"compositeResponse": responses}
    try:
        with backend.transaction():
            run_all()
    except _Rollback:
        failed = len(responses) - 1
        halted = {"body": [_HALTED], "httpHeaders": {}, "httpStatusCode": 400}
        out = [{**halted, "referenceId": r["referenceId"]} for r in responses[:failed]]
        out.append(responses[failed])
        out.extend({**halted, "referenceId": s["referenceId"]} for s in subs[failed + 1 :])
        return {"compositeResponse": out}
    return {"compositeResponse": responses}
