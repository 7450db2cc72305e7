"""The request journal as an HTTP Archive (HAR 1.2), what browser devtools and HTTP tools open.

Each journal entry becomes one HAR entry: the request as the client sent it (method, URL on the
mock's base URL, headers, query, body), with the journal's redaction (``Authorization``, cookies,
``access_token``, passwords and other secrets read ``[redacted]``), and the response's status,
content type and size. The journal keeps no response body (its memory stays flat), so the HAR says
so in each response's comment rather than inventing one; the request body is the journal's (first 4 KiB, JSON parsed). The
operationId, legacy forms and contract violations go in the entry's comment. Written with the
``harfile`` library's models and streaming writer.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any
from urllib.parse import parse_qsl

import harfile

RESPONSE_NOT_KEPT = "the mock's journal keeps the response's status, type and size, not its headers or body"


def _version() -> str:
    try:
        return version("flowdock-mock")
    except PackageNotFoundError:  # a checkout used without installing it
        return "0+unknown"


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _started(entry: dict[str, Any]) -> str:
    """When the request started: the journal stamps entries when the response ends."""
    ended = datetime.fromisoformat(str(entry["time"]))  # Python 3.11 reads the trailing Z
    started = ended - timedelta(milliseconds=float(entry.get("duration_ms") or 0))
    return started.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post_data(entry: dict[str, Any], headers: dict[str, str]) -> harfile.PostData | None:
    body = entry.get("body")
    if body is None:
        return None
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return harfile.PostData(mimeType=headers.get("content-type", ""), text=text)


def _comment(entry: dict[str, Any]) -> str:
    parts = [f"operationId: {entry.get('operationId') or 'none (matched no operation)'}"]
    if entry.get("normalizations"):
        parts.append("legacy forms normalised: " + ", ".join(entry["normalizations"]))
    if entry.get("violations"):
        parts.append("contract violations: " + "; ".join(entry["violations"]))
    if entry.get("forced"):
        parts.append(f"status forced by {entry['forced']}")
    return "; ".join(parts)


def write_har(
    entries: list[dict[str, Any]], base_url: str | None, out: IO[str], *, comment: str | None = None
) -> None:
    """Write the journal entries (``GET /_mock/requests`` items) as one HAR 1.2 document.

    URLs start with ``base_url``; without one (a saved journal), with the ``Host`` the client sent.
    """
    creator = harfile.Creator(name="flowdock-mock", version=_version())
    with harfile.HarFile(out, creator=creator, comment=comment) as har:
        for entry in entries:
            headers: dict[str, str] = dict(entry.get("headers") or {})
            query = str(entry.get("query") or "")
            length = headers.get("content-length", "")
            base = (base_url or f"http://{headers.get('host') or 'localhost'}").rstrip("/")
            request = harfile.Request(
                method=str(entry["method"]),
                url=f"{base}{entry['path']}" + (f"?{query}" if query else ""),
                httpVersion="HTTP/1.1",
                headers=[harfile.Record(name=k, value=v) for k, v in headers.items()],
                queryString=[
                    harfile.Record(name=k, value=v) for k, v in parse_qsl(query, keep_blank_values=True)
                ],
                postData=_post_data(entry, headers),
                bodySize=int(length) if length.isdigit() else (0 if entry.get("body") is None else -1),
            )
            status = int(entry["status"])
            answered = entry.get("response") or {}  # absent from journals saved before it was kept
            size = int(answered.get("size", -1))
            content_type = str(answered.get("content_type", ""))
            response = harfile.Response(
                status=status,
                statusText=_status_text(status),
                httpVersion="HTTP/1.1",
                headers=[harfile.Record(name="content-type", value=content_type)] if content_type else [],
                content=harfile.Content(size=size, mimeType=content_type),
                bodySize=size,
                comment=RESPONSE_NOT_KEPT,
            )
            duration = float(entry.get("duration_ms") or 0)
            har.add_entry(
                startedDateTime=_started(entry),
                time=duration,
                request=request,
                response=response,
                timings=harfile.Timings(send=0, wait=duration, receive=0),
                comment=_comment(entry),
            )
