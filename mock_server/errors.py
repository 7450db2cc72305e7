"""Domain errors and their exact texts: the store raises these, app.py renders them.

Every failure a client sees has Flowdock's shape, ``{"message": ..., "errors": {field: [...]}}``
(docs/flowdock.md §1.4). The texts are constants so tests can assert them verbatim (fakeredis ``_msgs.py``).
This module imports nothing from Connexion, Flask or Starlette.
"""

from __future__ import annotations

# --- message texts (what Flowdock said, where it is known; docs/flowdock.md §1.4) ----------------
VALIDATION_ERROR = "Validation error"
NOT_FOUND = "not found"
AUTHENTICATION_REQUIRED = "Authentication required"
INVALID_CREDENTIALS = "Invalid credentials"
FORBIDDEN = "Forbidden"
NOT_A_MEMBER = "You are not a member of this flow"
ADMIN_ONLY = "Only organization admins can do this"
ONLY_YOURSELF = "You can only update your own user"
INSUFFICIENT_SCOPE = "Insufficient OAuth scope"
METHOD_NOT_ALLOWED = "method not allowed"
UNSUPPORTED_MEDIA_TYPE = "Unsupported media type"
PAYLOAD_TOO_LARGE = "Request entity too large"
SOURCE_GONE = "Gone: this source has been deleted"
NOT_IMPLEMENTED = "Not implemented by flowdock-mock yet"
INTERNAL_ERROR = "Internal server error"
SERVICE_UNAVAILABLE = "Service unavailable"

# --- per-field error texts (Rails wording, as Flowdock's validation errors used) ----------------
BLANK = "can't be blank"
TOO_LONG = "is too long"
INVALID = "is invalid"
TAKEN = "has already been taken"
NOT_IN_ORGANIZATION = "is not a member of the organization"
ALREADY_MEMBER = "is already a member of the flow"

# --- legacy-client rules (mock_server/middleware/normalize/) ------------------------------------
# Each name is recorded in scope["flowdock"]["normalizations"] when the rule rewrote a request; in
# strict mode a request that needs one is refused with 400 and "<text> (rule: <name>)" under the
# field it concerns. ``{}`` in a text is filled with what the client sent.
RULE_VERSION_PREFIX = "version-prefix"
RULE_DOUBLE_SLASH = "double-slash"
RULE_TRAILING_SLASH = "trailing-slash"
RULE_JSON_SUFFIX = "json-suffix"
RULE_PATCH_AS_PUT = "patch-as-put"
RULE_NO_CONTENT_TYPE = "no-content-type"
RULE_FORM_BODY = "form-body"
RULE_MULTIPART_BODY = "multipart-body"
RULE_QUERY_TO_BODY = "query-params-in-body"
RULE_BODY_TO_QUERY = "body-on-get"
RULE_TAGS_STRING = "tags-string"
RULE_BOOLEAN = "boolean-coercion"
RULE_NULL_OPTIONAL = "null-optional"
RULE_INFLUX_PUSH = "influx-push"
RULE_FLOW_API_TOKEN = "flow-api-token"
"""A flow's API token where a source's flow_token belongs: refused in strict mode with 401."""
RULE_PERSONAL_TOKEN_SOURCE = "personal-token-source"
"""A source created with a personal API token (no OAuth application): refused in strict mode with 403."""
RULE_ACCESS_TOKEN = "access-token"
"""Documented Flowdock (docs/flowdock.md §2.2): applied and recorded in both modes, never refused."""
RULE_CORS_PREFLIGHT = "cors-preflight"
"""An OPTIONS preflight answered by the CORS layer (docs/flowdock.md §1.3): recorded, never refused."""
LEGACY_RULE_TEXTS = {
    RULE_VERSION_PREFIX: "{} prefix is not part of the contract",
    RULE_DOUBLE_SLASH: "doubled slashes are not part of the contract",
    RULE_TRAILING_SLASH: "a trailing slash is not part of the contract",
    RULE_JSON_SUFFIX: "a .json suffix is not part of the contract",
    RULE_PATCH_AS_PUT: "PATCH is not part of the contract; this operation takes PUT",
    RULE_NO_CONTENT_TYPE: "a request body needs a Content-Type header",
    RULE_FORM_BODY: "application/x-www-form-urlencoded is not accepted by this operation; send application/json",
    RULE_MULTIPART_BODY: "multipart/form-data is only for file uploads here; send application/json",
    RULE_QUERY_TO_BODY: "belongs in the request body, not in the query string",
    RULE_BODY_TO_QUERY: "{} takes its parameters in the query string, not in a request body",
    RULE_TAGS_STRING: "must be an array of strings, not a comma-separated string",
    RULE_BOOLEAN: "must be {}, not {}",
    RULE_NULL_OPTIONAL: "must be left out rather than sent as null",
    RULE_INFLUX_PUSH: "/messages/influx is the 2011 name of the Push API; the contract's is /messages/team_inbox",
    RULE_FLOW_API_TOKEN: "a flow's API token is not a flow_token; integrations post with their source's flow_token",
    RULE_PERSONAL_TOKEN_SOURCE: "creating a source needs an OAuth token with the integration scope, "
    "not a personal API token",
}


def rule_text(rule: str, *detail: str) -> str:
    """What a legacy rule says, with its name: ``"<text> (rule: <name>)"``."""
    return f"{LEGACY_RULE_TEXTS[rule].format(*detail)} (rule: {rule})"


# --- messaging: edits, deletes, uploads, comments -------------------------------------------------
NOT_YOUR_MESSAGE = "You can only edit the content of your own messages"
NOT_EDITABLE = "Only the content of chat messages and comments can be edited"
NOT_DELETABLE = "You can only delete your own messages and team inbox items"
FILE_TOO_LARGE = "is larger than the upload limit"
COMMENT_ON_COMMENT = "can't be a comment"
NO_WHITESPACE = "should not contain whitespace"
NOT_SUPPORTED_HERE = "is not supported here"
NO_SUCH_MESSAGE = "is not the id of a message here"

# --- streaming (docs/flowdock.md §8.1) -------------------------------------------------------------
STREAM_NEEDS_FILTER = "must name at least one flow unless user=1 asks for private messages"
STREAM_REFUSED = "stream connections are refused for now (a stream fault of flowdock-mock); retry later"
STREAM_LIMIT = (
    "this server holds at most {limit} stream connections at once (--max-streams); retry when one ends"
)

# --- integrations, access control and OAuth -------------------------------------------------------
FLOW_ADMIN_ONLY = "Only flow admins and organization admins can do this"
NOT_PENDING = "is not pending"
INVALID_EMAIL = "Invalid email"
FLOW_TOKEN_REQUIRED = "A flow_token is required"
OAUTH_UNKNOWN_CLIENT = "Unknown client_id"
OAUTH_CLIENT_AUTH_FAILED = "Client authentication failed"
OAUTH_REDIRECT_MISMATCH = "redirect_uri does not match the application's registered redirect URI"
OAUTH_UNSUPPORTED_RESPONSE_TYPE = "Only response_type=code is supported"
OAUTH_UNKNOWN_SCOPE = "Unknown scope"
OAUTH_SCOPE_WIDENED = "A refresh cannot add scopes to the original grant"
OAUTH_UNKNOWN_LOGIN = "No user matches the login parameter"
OAUTH_MISSING_PARAMETER = "Missing required parameter"
OAUTH_UNSUPPORTED_GRANT = "grant_type must be authorization_code, refresh_token or password"
OAUTH_BAD_CODE = "The authorization code is invalid, expired or already used"
OAUTH_CODE_REDIRECT_MISMATCH = "redirect_uri differs from the one the code was issued for"
OAUTH_BAD_REFRESH_TOKEN = "The refresh token is invalid or was already used"
OAUTH_BAD_PASSWORD = "Invalid username or password"

# --- the control API (/_mock) ---------------------------------------------------------------------
ADMIN_TOKEN_REQUIRED = "Admin token required"
ADMIN_TOKEN_HINT = "send Authorization: Bearer <the server's admin token>"
OTHER_WORLDS_CONTROL = "A world's control token opens that world's routes only"
"""403: a world's control token on another world's route, the default world's or the server's."""
CONTROL_TOKEN_HINT = "use the admin token, or this world's own routes (/_mock/worlds/{id}/..., ?world={id})"
WEBHOOK_TO_SELF = "is an address of this mock server: a webhook cannot call the mock itself"
WEBHOOK_CAP = "a world holds at most {limit} webhooks (--max-webhooks); delete one first"
TOO_MANY_WEBHOOKS = "Too many webhooks"
CROSS_SITE_CONTROL = "The control API takes no cross-site requests"
"""A /_mock write from another web origin (``Origin``, ``Sec-Fetch-Site``), or a preflight for one."""
CROSS_SITE_HINT = "the control API answers its own origin and clients that are not browsers only"
INVALID_WORLD = "Invalid world document"
INVALID_HISTORY = "Invalid history archive"
"""A Flowdock flow export that cannot be loaded (mock_server/history/): each error names the archive."""
NOT_AN_OPERATION = "is not an operationId of the Flowdock contract"

# --- request bodies and absurd input (mock_server/middleware/input_guard.py) ----------------------
BODY_TOO_LARGE = "is larger than {limit} bytes"
"""Under ``body`` in a 413; ``{limit}`` is the server's body limit."""
NOT_VALID_TEXT = "is not valid {charset}"
"""Under ``body`` when a JSON body cannot be decoded with its charset (UTF-8 unless Content-Type says)."""
UNKNOWN_CHARSET = "charset {charset!r} is not supported"
"""Under ``content_type`` in a 415."""
MALFORMED_JSON = "is not valid JSON"
"""Under ``body`` when a JSON body does not parse."""
NESTED_TOO_DEEP = "is nested too deeply"
"""Under ``body`` when a JSON body nests deeper than the parser can follow."""
TOO_LONG_VALUE = "is longer than {limit} characters"
"""Under ``path`` or the query parameter's name, for a value no parameter of the contract takes."""
ENCODED_SLASH = "has a percent-encoded slash, which no Flowdock name contains"
DOT_SEGMENT = "has a . or .. segment, which names no Flowdock resource"
NOT_UNICODE = "is not valid Unicode text (invalid UTF-8 or a lone surrogate)"
"""Under the field (JSON path, form field, query parameter, ``path``) holding text no client can read back."""
NOT_A_NUMBER = "is not a JSON number (NaN and Infinity are not JSON, nor is a number beyond a double)"
OUT_OF_RANGE = "is outside the 64-bit integer range"
"""Under a number no JSON client can round-trip (the mock's own responses are 64-bit at most)."""
NESTED_FIELD_TOO_DEEP = "is nested more than {limit} levels deep"
"""Under a form field whose name nests brackets (``a[b][c]...``) beyond any Flowdock parameter."""
HEADERS_TOO_LARGE = "Request header fields too large"
HEADERS_LIMIT = "a request head may hold {bytes} bytes and {count} header fields"
REQUEST_TIMEOUT = "Request timeout"
HEADERS_TIMEOUT = "the request head did not arrive within {seconds:g} seconds"
"""431 and 408 from the server itself (mock_server/serving.py), before any request reaches the app."""
NOT_A_STATUS = "Prefer: code={code} is not an HTTP status"
"""Under ``status`` when ``Prefer: code=`` holds more digits than any HTTP status."""
DELETED_MESSAGE = "A deleted message cannot be edited"
"""403: editing the content of a message a truncating delete emptied (Flowdock's delete is final)."""

# --- worlds (runtime/worlds.py, control/worlds.py) -----------------------------------------------
NO_SUCH_WORLD = "No such world"
TOO_MANY_WORLDS = "Too many worlds"
TOO_MANY_SCHEDULES = "Too many activity schedules"
WORLD_CAP = (
    "this server holds at most {limit} worlds besides the default one (--max-worlds); delete one "
    "(DELETE /_mock/worlds/{{id}}) or let idle ones expire (--world-idle-timeout)"
)
OVER_WORLD_BUDGET = (
    "a world this large takes about {need} MB; a world may take {limit} MB on this server (--world-memory-mb)"
)
DEFAULT_WORLD_STAYS = "the default world cannot be deleted (POST /_mock/reset puts it back)"
CREDENTIAL_CONFLICT = "Credentials of another world"
CREDENTIAL_TAKEN = "is a credential of another world on this server"
ONE_WORLD_SOURCE = "give one of from, seed (with sizes) or world"


class FlowdockError(Exception):
    """Base of every domain error: an HTTP status, a message and per-field errors."""

    status = 500
    message = INTERNAL_ERROR

    def __init__(self, message: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        self.message = message or type(self).message
        self.errors = errors or {}
        super().__init__(self.message)

    def to_body(self) -> dict[str, object]:
        """The JSON body Flowdock clients parse (``errors`` only when there are some)."""
        body: dict[str, object] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class ValidationFailed(FlowdockError):
    """400: the request is well-formed but breaks a rule (blank content, comment on a comment, ...)."""

    status = 400
    message = VALIDATION_ERROR

    @classmethod
    def field(cls, name: str, text: str) -> ValidationFailed:
        """One field, one reason: the common case."""
        return cls(errors={name: [text]})


class Unauthorized(FlowdockError):
    """401: no credentials, or credentials that match no user, token or source."""

    status = 401
    message = AUTHENTICATION_REQUIRED


class Forbidden(FlowdockError):
    """403: authenticated, but not allowed (not a member, not an admin, not the author, no scope)."""

    status = 403
    message = FORBIDDEN


class NotFound(FlowdockError):
    """404: no such resource, or one the caller may not know exists."""

    status = 404
    message = NOT_FOUND


class Conflict(FlowdockError):
    """409: the request would give the mock two owners of one thing (a credential, two worlds)."""

    status = 409
    message = CREDENTIAL_CONFLICT


class TooManySchedules(FlowdockError):
    """429: a world already runs as many presence and typing schedules as it may."""

    status = 429
    message = TOO_MANY_SCHEDULES


class TooManyWorlds(FlowdockError):
    """429: the server holds as many worlds as it was told to (``--max-worlds``)."""

    status = 429
    message = TOO_MANY_WORLDS


class TooManyWebhooks(FlowdockError):
    """429: the world holds as many webhooks as the server allows (``--max-webhooks``)."""

    status = 429
    message = TOO_MANY_WEBHOOKS


class Gone(FlowdockError):
    """410: a flow_token whose source was deleted."""

    status = 410
    message = SOURCE_GONE


class PayloadTooLarge(FlowdockError):
    """413: a body or uploaded file over the configured limit."""

    status = 413
    message = PAYLOAD_TOO_LARGE


class UnsupportedMediaType(FlowdockError):
    """415: a request body in a media type or charset the operation does not take."""

    status = 415
    message = UNSUPPORTED_MEDIA_TYPE


class OAuthFailed(FlowdockError):
    """400 (401 for invalid_client): an RFC 6749 error, rendered as ``{"error", "error_description"}``."""

    status = 400

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status

    def to_body(self) -> dict[str, object]:
        """RFC 6749 §5.2: what OAuth client libraries parse, not Flowdock's ``message`` shape."""
        return {"error": self.error, "error_description": self.message}


class NotImplementedYet(FlowdockError):
    """501: an operation of the contract that flowdock-mock does not implement yet."""

    status = 501
    message = NOT_IMPLEMENTED
