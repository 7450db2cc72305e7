"""A client test run whose own checks pass, but one of whose requests breaks the contract.

It posts a message without its required ``event``; the mock answers 400, and the client (like
many real ones) does not look. Only the runner's contract report can catch it.
"""

import base64
import json
import os
import urllib.error
import urllib.request

API = os.environ["FLOWDOCK_API_URL"]
AUTH = "Basic " + base64.b64encode(f"{os.environ['HUBOT_FLOWDOCK_API_TOKEN']}:".encode()).decode()

urllib.request.urlopen(
    urllib.request.Request(API + "/flows", headers={"Authorization": AUTH}), timeout=10
).close()
request = urllib.request.Request(
    API + "/flows/acme/main/messages",
    data=json.dumps({"content": "no event"}).encode(),
    method="POST",
    headers={"Authorization": AUTH, "Content-Type": "application/json"},
)
try:
    urllib.request.urlopen(request, timeout=10).close()
except urllib.error.HTTPError as exc:
    exc.close()
print("violating client: done")
