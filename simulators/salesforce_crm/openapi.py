"""OpenAPI operation objects and component schemas of the Salesforce REST subset served.

Every operation lists the status codes it really returns; error bodies are Salesforce's
JSON array of ``{message, errorCode, fields}``.
"""

from __future__ import annotations

from typing import Any

from .models import SUPPORTED_VERSIONS
from .schema import SOBJECTS

SALESFORCE_TAG = "salesforce"
ADMIN_TAG = "admin"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str, *refusals: tuple[str, str]) -> dict[str, Any]:
    """A Salesforce error response; ``refusals`` are (errorCode regex, why) pairs of schema-
    valid input this response refuses, for harness.fuzz's documented acceptance check."""
    out = _json(_ref("Errors"), description)
    if refusals:
        out[REJECTIONS] = [{"match": f'"errorCode":"({codes})"', "why": why}
                           for codes, why in refusals]
    return out


#: the spec extension harness.fuzz reads (harness.fuzz.REJECTIONS_EXTENSION; the simulator
#: layer does not import the harness)
REJECTIONS = "x-o2c-valid-input-rejections"
_PER_SOBJECT = ("REQUIRED_FIELD_MISSING|INVALID_FIELD|INVALID_FIELD_FOR_INSERT_UPDATE|"
                "STRING_TOO_LONG|JSON_PARSER_ERROR|INVALID_TYPE_ON_FIELD_IN_RECORD|"
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST|FIELD_INTEGRITY_EXCEPTION|"
                "DUPLICATE_VALUE|MALFORMED_ID|INVALID_CROSS_REFERENCE_KEY|"
                "NUMBER_OUTSIDE_VALID_RANGE|CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                "the fields an sObject has, requires and how it types them depend on the "
                "sObject in the path (see its describe), which one JSON Schema for every "
                "sObject cannot state")
_SOQL = ("MALFORMED_QUERY|INVALID_FIELD|INVALID_TYPE|INVALID_QUERY_FILTER_OPERATOR",
         "SOQL is a language: a statement's grammar, objects and fields are not a JSON "
         "Schema string constraint")
_LOCATOR = ("INVALID_QUERY_LOCATOR", "a locator is an opaque handle from an earlier "
            "query's nextRecordsUrl; one the org did not hand out (or that expired) is "
            "refused")


VERSION = {"name": "version", "in": "path", "required": True,
           "description": "API version with a leading v, e.g. v59.0",
           "schema": {"type": "string", "enum": [f"v{v}" for v in SUPPORTED_VERSIONS]}}
SOBJECT = {"name": "sobject", "in": "path", "required": True, "description": "sObject type",
           "schema": {"type": "string", "examples": list(SOBJECTS)}}
RECORD_ID = {"name": "record_id", "in": "path", "required": True,
             "description": "15- or 18-character record id",
             "schema": {"type": "string"}}
EXT_FIELD = {"name": "field", "in": "path", "required": True,
             "description": "an external id field, e.g. External_Id__c",
             "schema": {"type": "string"}}
EXT_VALUE = {"name": "value", "in": "path", "required": True,
             "schema": {"type": "string"}}
FIELDS = {"name": "fields", "in": "query", "required": False,
          "description": "comma-separated field names to return",
          "schema": {"type": "string"}}
LOCATOR = {"name": "locator", "in": "path", "required": True,
           "description": "query locator from nextRecordsUrl: <cursor id>-<offset>",
           "schema": {"type": "string"}}
QUERY_OPTIONS = {"name": "Sforce-Query-Options", "in": "header", "required": False,
                 "description": "batchSize=N (200..2000) records per page",
                 "schema": {"type": "string"}}
Q = {"name": "q", "in": "query", "required": True, "description": "a SOQL statement",
     "schema": {"type": "string"}}

_AUTHED = {"401": _err("INVALID_SESSION_ID: missing, unknown or expired session"),
           "403": _err("REQUEST_LIMIT_EXCEEDED: the daily API request limit is used up"),
           "404": _err("NOT_FOUND: unknown API version, sObject type or record")}
_LIMIT_HEADER = {"Sforce-Limit-Info": {"description": "api-usage=USED/LIMIT",
                                       "schema": {"type": "string"}}}


def operation(summary: str, responses: dict[str, Any], params: list[dict[str, Any]],
              *, body: dict[str, Any] | None = None, authed: bool = True,
              op_id: str | None = None) -> dict[str, Any]:
    """An operation; authenticated ones get the 401/403/404 errors and the limit header."""
    merged = dict(_AUTHED) if authed else {}
    merged.update(responses)
    if authed:
        for resp in merged.values():
            resp.setdefault("headers", _LIMIT_HEADER)
    out: dict[str, Any] = {"tags": [SALESFORCE_TAG], "summary": summary, "parameters": params,
                           "responses": merged}
    if op_id:
        out["operationId"] = op_id
    if body is not None:
        out["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": body}}}
    return out


_RECORD = "/services/data/{version}/sobjects/{sobject}/{record_id}"


def _op_ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _record_links() -> dict[str, Any]:
    """create → get → update → delete of the created record (schemathesis' stateful phase):
    the same version and sObject, the id from the SaveResult."""
    params = {"path.version": "$request.path.version", "path.sobject": "$request.path.sobject",
              "path.record_id": "$response.body#/id"}
    return {name: {"operationRef": _op_ref(_RECORD, method), "parameters": params}
            for name, method in (("GetRecord", "get"), ("UpdateRecord", "patch"),
                                 ("DeleteRecord", "delete"))}


def ops() -> dict[str, dict[str, Any]]:
    """Operation objects by handler name (one per served route, trailing-slash twins alike)."""
    rec = _ref("SObject")
    return {
        "versions": operation("List available REST API versions",
                              {"200": _json({"type": "array", "items": _ref("Version")},
                                            "Versions")}, [], authed=False),
        "resources": operation("Resources available in an API version",
                               {"200": _json({"type": "object", "additionalProperties":
                                              {"type": "string"}}, "Resource URLs")},
                               [VERSION]),
        "global_describe": operation("Describe global: the sObjects of the org",
                                     {"200": _json(_ref("DescribeGlobal"), "Object list")},
                                     [VERSION]),
        "sobject_basic_info": operation(
            "sObject basic information and recently modified records",
            {"200": _json({"type": "object", "required": ["objectDescribe", "recentItems"],
                           "properties": {"objectDescribe": _ref("SObjectSummary"),
                                          "recentItems": {"type": "array", "items": rec}}},
                          "Basic information")}, [VERSION, SOBJECT]),
        "sobject_describe": operation("Describe an sObject: fields and their metadata",
                                      {"200": _json(_ref("SObjectDescribe"), "Describe")},
                                      [VERSION, SOBJECT]),
        "create_record": operation(
            "Create a record",
            {"201": {**_json(_ref("SaveResult"), "Created"), "links": _record_links()},
             "400": _err("REQUIRED_FIELD_MISSING, INVALID_FIELD, STRING_TOO_LONG, "
                         "JSON_PARSER_ERROR, DUPLICATE_VALUE, ...", _PER_SOBJECT)},
            [VERSION, SOBJECT], body={"type": "object", "additionalProperties": True}),
        "get_record": operation(
            "Get a record by id",
            {"200": _json(rec, "The record"), "400": _err("INVALID_FIELD in 'fields'")},
            [VERSION, SOBJECT, RECORD_ID, FIELDS]),
        "update_record": operation(
            "Update a record",
            {"204": {"description": "Updated"},
             "400": _err("INVALID_FIELD, FIELD_INTEGRITY_EXCEPTION (closed opportunity), ...",
                         _PER_SOBJECT)},
            [VERSION, SOBJECT, RECORD_ID], body={"type": "object",
                                                 "additionalProperties": True}),
        "delete_record": operation("Delete a record (to the recycle bin)",
                                   {"204": {"description": "Deleted"}},
                                   [VERSION, SOBJECT, RECORD_ID]),
        "get_by_external_id": operation(
            "Get a record by external id",
            {"200": _json(rec, "The record"), "400": _err("INVALID_FIELD in 'fields'")},
            [VERSION, SOBJECT, EXT_FIELD, EXT_VALUE, FIELDS]),
        "upsert_by_external_id": operation(
            "Upsert a record by external id (201 created; update: 200 from v46.0, 204 before)",
            {"200": _json(_ref("UpsertResult"), "Updated (API 46.0+)"),
             "201": _json(_ref("UpsertResult"), "Created"),
             "204": {"description": "Updated (API 45.0 and earlier)"},
             "400": _err("validation error", _PER_SOBJECT)},
            [VERSION, SOBJECT, EXT_FIELD, EXT_VALUE],
            body={"type": "object", "additionalProperties": True}),
        "query": operation(
            "Execute a SOQL query",
            {"200": _json(_ref("QueryResult"), "First page"),
             "400": _err("MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...", _SOQL)},
            [VERSION, Q, QUERY_OPTIONS]),
        "query_all": operation(
            "Execute a SOQL query including deleted records",
            {"200": _json(_ref("QueryResult"), "First page"),
             "400": _err("MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...", _SOQL)},
            [VERSION, Q, QUERY_OPTIONS]),
        "query_more": operation(
            "Next page of a query (the nextRecordsUrl)",
            {"200": _json(_ref("QueryResult"), "Page"),
             "400": _err("INVALID_QUERY_LOCATOR", _LOCATOR)}, [VERSION, LOCATOR]),
        "limits": operation("Org limits", {"200": _json(_ref("Limits"), "Limits")}, [VERSION]),
        "composite_sobjects": operation(
            "Create up to 200 records of any types",
            {"200": _json({"type": "array", "items": _ref("SaveResult")},
                          "One SaveResult per record"),
             "400": _err("malformed body or more than 200 records")},
            [VERSION], body=_ref("CollectionRequest")),
        "composite_request": operation(
            "Run up to 25 subrequests, chained with @{referenceId.field} references",
            {"200": _json(_ref("CompositeResponse"), "One response per subrequest"),
             "400": _err("malformed body, or a referenceId used twice", (
                 "INVALID_INPUT", "referenceIds are unique within a request, which JSON "
                 "Schema cannot state across array items"))},
            [VERSION], body=_ref("CompositeRequest")),
        "oauth_token": {
            "tags": [SALESFORCE_TAG],
            "summary": "OAuth 2.0 token: password or client_credentials grant",
            "security": [],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")}}},
            "responses": {"200": _json(_ref("TokenResponse"), "Access token"),
                          "400": _json(_ref("OAuthError"), "invalid_grant, invalid_client, "
                                       "invalid_client_id, unsupported_grant_type")},
        },
        "soap_login": {
            "operationId": "soapLogin",
            "tags": [SALESFORCE_TAG],
            "summary": "Partner SOAP API login (username, password + security token)",
            "security": [],
            "parameters": [{"name": "version", "in": "path", "required": True,
                            "description": "API version without a leading v, e.g. 59.0",
                            "schema": {"type": "string", "enum": SUPPORTED_VERSIONS}}],
            "requestBody": {"required": True, "content": {"text/xml": {
                "schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "loginResponse with sessionId and serverUrl",
                        "content": {"text/xml": {"schema": {"type": "string"}}}},
                "404": _err("unknown API version"),
                "500": {"description": "SOAP fault (LoginFault INVALID_LOGIN), as Salesforce "
                                       "sends it", "content": {"text/xml": {
                                           "schema": {"type": "string"}}}},
            },
        },
    }


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}


def components() -> dict[str, Any]:
    error = {"type": "object", "required": ["message", "errorCode"],
             "properties": {"message": _STR, "errorCode": _STR,
                            "fields": {"type": "array", "items": _STR}}}
    save_error = {"type": "object", "required": ["statusCode", "message"],
                  "properties": {"statusCode": _STR, "message": _STR,
                                 "fields": {"type": "array", "items": _STR}}}
    attributes = {"type": "object", "required": ["type"],
                  "properties": {"type": _STR, "url": _STR}}
    summary_props = {"name": _STR, "label": _STR, "labelPlural": _STR, "keyPrefix": _STR,
                     "urls": {"type": "object", "additionalProperties": _STR}}
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "access_token from POST /services/oauth2/token (or a SOAP "
                               "login sessionId); 'OAuth <token>' is accepted too"},
            # where the tokens come from: a well-formed grant with credentials the org does
            # not know is refused (400 invalid_client_id / invalid_grant), as OAuth 2.0 says
            "oauth2": {
                "type": "oauth2",
                "description": "the grants POST /services/oauth2/token serves",
                "flows": {
                    "clientCredentials": {"tokenUrl": "/services/oauth2/token", "scopes": {}},
                    "password": {"tokenUrl": "/services/oauth2/token", "scopes": {}}}}},
        "schemas": {
            "Error": error,
            "Errors": {"type": "array", "items": _ref("Error"), "minItems": 1},
            "SaveError": save_error,
            "SaveResult": {"type": "object", "required": ["success", "errors"],
                           "properties": {"id": _STR, "success": {"type": "boolean"},
                                          "errors": {"type": "array",
                                                     "items": _ref("SaveError")}}},
            "UpsertResult": {"type": "object",
                             "required": ["id", "success", "errors", "created"],
                             "properties": {"id": _STR, "success": {"type": "boolean"},
                                            "errors": {"type": "array", "items": {}},
                                            "created": {"type": "boolean"}}},
            "SObject": {"type": "object", "required": ["attributes"],
                        "properties": {"attributes": attributes},
                        "additionalProperties": True},
            "QueryResult": {"type": "object", "required": ["totalSize", "done", "records"],
                            "properties": {"totalSize": {"type": "integer"},
                                           "done": {"type": "boolean"},
                                           "records": {"type": "array",
                                                       "items": _ref("SObject")},
                                           "nextRecordsUrl": _STR}},
            "Version": {"type": "object", "required": ["label", "url", "version"],
                        "properties": {"label": _STR, "url": _STR, "version": _STR}},
            "SObjectSummary": {"type": "object", "required": ["name", "keyPrefix", "urls"],
                               "properties": summary_props, "additionalProperties": True},
            "DescribeGlobal": {"type": "object", "required": ["encoding", "maxBatchSize",
                                                              "sobjects"],
                               "properties": {"encoding": _STR,
                                              "maxBatchSize": {"type": "integer"},
                                              "sobjects": {"type": "array",
                                                           "items": _ref("SObjectSummary")}}},
            "FieldDescribe": {
                "type": "object",
                "required": ["name", "type", "length", "nillable", "createable", "updateable",
                             "externalId", "picklistValues"],
                "properties": {"name": _STR, "type": _STR, "label": _STR,
                               "length": {"type": "integer"}, "nillable": {"type": "boolean"},
                               "createable": {"type": "boolean"},
                               "updateable": {"type": "boolean"},
                               "externalId": {"type": "boolean"},
                               "relationshipName": _NSTR,
                               "referenceTo": {"type": "array", "items": _STR},
                               "picklistValues": {"type": "array", "items": {
                                   "type": "object",
                                   "properties": {"value": _STR, "label": _STR,
                                                  "active": {"type": "boolean"}}}}},
                "additionalProperties": True},
            "SObjectDescribe": {
                "type": "object", "required": ["name", "keyPrefix", "fields", "urls"],
                "properties": {**summary_props,
                               "fields": {"type": "array", "items": _ref("FieldDescribe")},
                               "childRelationships": {"type": "array",
                                                      "items": {"type": "object"}}},
                "additionalProperties": True},
            "Limits": {"type": "object", "required": ["DailyApiRequests"],
                       "additionalProperties": {
                           "type": "object", "required": ["Max", "Remaining"],
                           "properties": {"Max": {"type": "integer"},
                                          "Remaining": {"type": "integer"}}}},
            "CollectionRequest": {
                "type": "object", "required": ["records"],
                "properties": {"allOrNone": {"type": "boolean"},
                               # each record is judged on its own and its failure (no
                               # attributes.type, a missing field...) reported in its
                               # SaveResult of the 200, as Salesforce does: a request-level
                               # constraint on the items would be untrue
                               "records": {"type": "array", "maxItems": 200,
                                           "items": {"type": "object"}}}},
            "CompositeRequest": {
                "type": "object", "required": ["compositeRequest"],
                "properties": {
                    "allOrNone": {"type": "boolean"},
                    "collateSubrequests": {"type": "boolean"},
                    "compositeRequest": {"type": "array", "minItems": 1, "maxItems": 25,
                                         "items": {
                        "type": "object", "required": ["method", "url", "referenceId"],
                        # an unsupported method fails in that subrequest's response (200)
                        "properties": {"method": {"type": "string",
                                                  "examples": ["GET", "POST", "PATCH",
                                                               "DELETE"]},
                                       "url": _STR,
                                       "referenceId": {"type": "string",
                                                       "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                                       "body": {},
                                       "httpHeaders": {"type": "object"}}}}}},
            "CompositeResponse": {
                "type": "object", "required": ["compositeResponse"],
                "properties": {"compositeResponse": {"type": "array", "items": {
                    "type": "object",
                    "required": ["body", "httpHeaders", "httpStatusCode", "referenceId"],
                    "properties": {"body": {}, "httpHeaders": {"type": "object"},
                                   "httpStatusCode": {"type": "integer"},
                                   "referenceId": _STR}}}}},
            "TokenRequest": {
                "type": "object", "required": ["grant_type"],
                "properties": {"grant_type": {"enum": ["password", "client_credentials"]},
                               "client_id": _STR, "client_secret": _STR, "username": _STR,
                               "password": {"type": "string",
                                            "description": "password + security token"}}},
            "TokenResponse": {
                "type": "object",
                "required": ["access_token", "instance_url", "id", "token_type", "issued_at",
                             "signature"],
                "properties": {"access_token": _STR, "instance_url": _STR, "id": _STR,
                               "token_type": {"const": "Bearer"}, "issued_at": _STR,
                               "signature": _STR, "scope": _STR}},
            "OAuthError": {"type": "object", "required": ["error", "error_description"],
                           "properties": {"error": _STR, "error_description": _STR}},
            "Subscription": {"type": "object", "required": ["id", "url", "created"],
                             "properties": {"id": _STR, "url": _STR,
                                            "created": {"type": "number"}}},
            "SubscriptionRequest": {
                "type": "object", "required": ["url"],
                # what the simulator checks, no more: an http(s) URL prefix (a full RFC 3986
                # `format: uri` would claim a validation it does not do)
                "properties": {"url": {"type": "string", "pattern": "^https?://"},
                               "secret": {"type": "string", "description":
                                          "HMAC key for X-Sfdc-Signature; defaults to the "
                                          "config's change_event_secret"}}},
        },
    }


def admin_paths() -> dict[str, Any]:
    """The CRM-specific admin routes (session expiry, change event subscriptions)."""
    admin_err = _json(_ref("AdminError"), "Invalid request")
    return {
        "/_sim/crm/sessions/expire": {
            "post": {"tags": [ADMIN_TAG], "security": [],
                     "summary": "Expire every live session now: the next call with one of "
                                "their tokens gets 401 INVALID_SESSION_ID",
                     "responses": {"200": _json({
                         "type": "object", "required": ["expired"],
                         "properties": {"expired": {"type": "integer", "minimum": 0}}},
                         "How many sessions were ended")}},
        },
        "/_sim/crm/subscriptions": {
            "get": {"tags": [ADMIN_TAG], "summary": "Change event subscriptions",
                    "security": [],
                    "responses": {"200": _json({"type": "object", "required": ["data"],
                                                "properties": {"data": {
                                                    "type": "array",
                                                    "items": _ref("Subscription")}}},
                                               "Subscriptions")}},
            "post": {"tags": [ADMIN_TAG], "security": [],
                     "summary": "Subscribe a URL to Opportunity change events (Closed Won), "
                                "signed X-Sfdc-Timestamp: <unix s> and X-Sfdc-Signature: "
                                "base64(HMAC-SHA256(secret, \"<timestamp>.\" + body))",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref("SubscriptionRequest")}}},
                     "responses": {"201": _json(_ref("Subscription"), "Subscribed"),
                                   "400": admin_err, "422": admin_err}},
        },
        "/_sim/crm/subscriptions/{subscription_id}": {
            "delete": {"tags": [ADMIN_TAG], "security": [], "summary": "Unsubscribe",
                       "parameters": [{"name": "subscription_id", "in": "path",
                                       "required": True, "schema": _STR}],
                       "responses": {"200": _json({"type": "object"}, "Deleted"),
                                     "404": admin_err}},
        },
    }
