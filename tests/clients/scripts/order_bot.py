"""A Python Flowdock bot on flowdock-api-wrapper, for the conversation tests (tests/clients/convos).

It reads only the variables `flowdock-mock run` and `converse` give a client: FLOWDOCK_API_URL,
FLOWDOCK_STREAM_URL and HUBOT_FLOWDOCK_API_TOKEN; it streams the first flow it joined and answers:

- a greeting (hello, hi, good morning): "Hello! I take orders."
- "order a pizza": "Order #100: pizza, confirmed" (numbers count up from 100)
- "status of 100": "Order #100 is on its way"
- anything else: "Sorry, I did not get that"
"""

from __future__ import annotations

import itertools
import os
import re

import flowdock
import requests

API = os.environ["FLOWDOCK_API_URL"]
TOKEN = os.environ["HUBOT_FLOWDOCK_API_TOKEN"]
GREETINGS = {"hello", "hi", "good morning"}


def main() -> None:
    flowdock.API = API
    flowdock.STREAM = os.environ["FLOWDOCK_STREAM_URL"].removesuffix("/flows")
    auth = (TOKEN, "")
    me = requests.get(f"{API}/user", auth=auth, timeout=10).json()
    first = requests.get(f"{API}/flows", auth=auth, timeout=10).json()[0]
    flow = flowdock.connect(
        token=TOKEN, org=first["organization"]["parameterized_name"], flow=first["parameterized_name"]
    )
    numbers = itertools.count(100)
    for event in flow.events():
        if event.get("event") != "message" or str(event.get("user")) == str(me["id"]):
            continue
        text = str(event["content"]).strip()
        if text.lower() in GREETINGS:
            flow.send("Hello! I take orders.")
        elif m := re.fullmatch(r"order (?:an? )?(.+)", text, re.IGNORECASE):
            flow.send(f"Order #{next(numbers)}: {m[1]}, confirmed")
        elif m := re.fullmatch(r"status of #?(\d+)", text):
            flow.send(f"Order #{m[1]} is on its way")
        else:
            flow.send("Sorry, I did not get that")


if __name__ == "__main__":
    main()
