"""A client that makes one call, says it is ready, then waits until a signal ends it.

Prints ``ready <pid> <mock url>`` once its request is answered, so a test knows both processes.
"""

import base64
import os
import signal
import urllib.request

API = os.environ["FLOWDOCK_API_URL"]
AUTH = "Basic " + base64.b64encode(f"{os.environ['HUBOT_FLOWDOCK_API_TOKEN']}:".encode()).decode()
urllib.request.urlopen(
    urllib.request.Request(API + "/flows", headers={"Authorization": AUTH}), timeout=10
).close()
print(f"ready {os.getpid()} {API}", flush=True)
while True:
    signal.pause()
