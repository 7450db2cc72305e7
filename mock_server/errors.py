"""Domain errors and their exact texts: the store raises these, app.py renders them.

Every failure a client sees has Flowdock's shape, ``{"message": ..., "errors": {field: [...]}}``
(reference §1.4). The texts are constants so tests can assert them verbatim (fakeredis ``_msgs.py``).
This module imports nothing from Connexion, Flask or Starlette.
"""

from __future__ import annotations

# --- message texts (what Flowdock said, where it is known; §1.4) ---------------------------------
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

# --- per-field error texts (Rails wording, as Flowdock's validation errors used) ----------------
BLANK = "can't be blank"
TOO_LONG = "is too long"
INVALID = "is invalid"
TAKEN = "has already been taken"
NOT_IN_ORGANIZATION = "is not a member of the organization"
ALREADY_MEMBER = "is already a member of the flow"

# --- messaging (issue 3) -------------------------------------------------------------------------
NOT_YOUR_MESSAGE = "You can only edit the content of your own messages"
NOT_EDITABLE = "Only the content of chat messages and comments can be edited"
NOT_DELETABLE = "You can only delete your own messages and team inbox items"
FILE_TOO_LARGE = "is larger than the upload limit"
COMMENT_ON_COMMENT = "can't be a comment"
NO_WHITESPACE = "should not contain whitespace"
NOT_SUPPORTED_HERE = "is not supported here"


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


class Gone(FlowdockError):
    """410: a flow_token whose source was deleted."""

    status = 410
    message = SOURCE_GONE


class PayloadTooLarge(FlowdockError):
    """413: a body or uploaded file over the configured limit."""

    status = 413
    message = PAYLOAD_TOO_LARGE


class NotImplementedYet(FlowdockError):
    """501: an operation of the contract that flowdock-mock does not implement yet."""

    status = 501
    message = NOT_IMPLEMENTED
