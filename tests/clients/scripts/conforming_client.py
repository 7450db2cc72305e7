"""A client test run that speaks the contract: reads the mock from the environment, as real clients do.

Exits 0 when every call answered as the contract says, 1 otherwise (with the reason on stderr).
"""

import base64
import json
import os
import sys
import urllib.request

API = os.environ["FLOWDOCK_API_URL"]
TOKEN = os.environ["HUBOT_FLOWDOCK_API_TOKEN"]
AUTH = "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()


def call(method: str, path: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(API + path, data=data, method=method, headers={"Authorization": AUTH})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.stderr.write(f"conforming client: {what}\n")
        raise SystemExit(1)


expect(os.environ["FLOWDOCK_STREAM_URL"] == API + "/stream/flows", "FLOWDOCK_STREAM_URL is not the mock's")
expect(os.environ["FLOWDOCK_MOCK_URL"] == API, "FLOWDOCK_MOCK_URL is not the mock's")
expect(os.environ["FLOWDOCK_MOCK_API_TOKEN"] == TOKEN, "FLOWDOCK_MOCK_API_TOKEN differs")
status, flows = call("GET", "/flows")
expect(status == 200 and isinstance(flows, list) and flows, f"GET /flows: {status}")
status, flow = call("GET", "/flows/acme/main")
expect(status == 200, f"GET /flows/acme/main: {status}")
status, message = call("POST", "/flows/acme/main/messages", {"event": "message", "content": "from CI"})
expect(status == 201, f"POST message: {status}")
print("conforming client: 3 calls made")
