"""flowdock-mock's image as a Testcontainers module (``pip install flowdock-mock[testcontainers]``).

    from mock_server.testing.container import FlowdockMockContainer

    with FlowdockMockContainer(seed=7) as mock:
        requests.get(mock.api_url() + "/flows", auth=(mock.token, ""))
        world = mock.new_world()                 # a world of this test's own, its credentials
        last = world.last_event_id()
        ...                                      # the code under test posts as world.user
        world.wait_for_message(after=last, content="deployed")

``start()`` returns once ``/_mock/health`` answers 200 through the published port. The port is
published on 127.0.0.1 only (``bind_host``), with the server told its public URL so the ``url``
fields and file redirects it writes point at that address; pass ``bind_host=None`` when the
container engine runs on another machine (``DOCKER_HOST=tcp://...``, Docker-in-Docker), and the
engine's host and a random port are used instead. docs/containers.md shows it with podman's
Docker-compatible socket and gives the same recipe for Node's testcontainers.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from mock_server.control_client import ControlAPI
from mock_server.testing.control import FlowdockWorld, Kit, create_world

DEFAULT_IMAGE = os.environ.get("FLOWDOCK_MOCK_IMAGE", "flowdock-mock:latest")
"""The image started by default: ``FLOWDOCK_MOCK_IMAGE`` when set (``make image`` builds this tag)."""
CONTAINER_PORT = 8080
"""Where the image listens (its ``PORT``)."""
FIXTURES_IN_CONTAINER = "/fixtures/world.json"
"""Where a ``fixtures=`` world document is mounted, read-only."""
MAIN_USER_ID = 1
"""The generator's main user (alice); a fixtures file's main user is its lowest id otherwise."""


def free_port(host: str) -> int:
    """A port nothing listens on at ``host`` right now, picked by the kernel."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class FlowdockMockContainer(DockerContainer, Kit):
    """The mock in a container: configured like the image (``FLOWDOCK_MOCK_*`` variables), ready
    when it answers, with the kit (``say``, ``inject``, ``wait_for_message``...) on its default
    world and ``new_world()`` for a world of one's own.

    ``seed``, ``strict``, ``admin_token`` and ``fixtures`` (a world document on this machine,
    mounted read-only) are the ``serve`` options of the same names; ``env`` sets any other
    ``FLOWDOCK_MOCK_*`` variable. Further keyword arguments go to ``DockerContainer``.
    """

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        *,
        seed: int | None = None,
        strict: bool = False,
        admin_token: str | None = None,
        fixtures: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        bind_host: str | None = "127.0.0.1",
        startup_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(image, **kwargs)
        self.admin_token = admin_token
        self.bind_host = bind_host
        self._user: dict[str, Any] | None = None
        settings: dict[str, str] = dict(env or {})
        if seed is not None:
            settings["FLOWDOCK_MOCK_SEED"] = str(seed)
        if strict:
            settings["FLOWDOCK_MOCK_STRICT"] = "1"
        if admin_token:
            settings["FLOWDOCK_MOCK_ADMIN_TOKEN"] = admin_token
        if fixtures is not None:
            self.with_volume_mapping(str(Path(fixtures).resolve()), FIXTURES_IN_CONTAINER, "ro")
            settings["FLOWDOCK_MOCK_FIXTURES"] = FIXTURES_IN_CONTAINER
        for name, value in settings.items():
            self.with_env(name, value)
        if not bind_host:
            self.with_exposed_ports(CONTAINER_PORT)
        self._host_port = 0
        self.waiting_for(
            HttpWaitStrategy(CONTAINER_PORT, "/_mock/health")
            .for_status_code(200)
            .with_startup_timeout(int(startup_timeout))
            .with_poll_interval(0.1)
        )

    def start(self) -> FlowdockMockContainer:
        if self.bind_host:
            # docker-py's binding form (host address, host port): only this address listens.
            # with_bind_ports() takes no address, and a port without one listens on every
            # interface. The port is picked now, so the server can be told its public URL.
            self._host_port = free_port(self.bind_host)
            ports: dict[str, Any] = self.ports  # typed as port numbers; docker-py takes the pair
            ports[str(CONTAINER_PORT)] = (self.bind_host, self._host_port)
            self.with_env(
                "FLOWDOCK_MOCK_PUBLIC_URL", f"http://{self._url_host(self.bind_host)}:{self._host_port}"
            )
        super().start()
        return self

    @staticmethod
    def _url_host(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    # --- where it is -----------------------------------------------------------------------------
    def api_url(self) -> str:
        """The REST API's base URL, e.g. ``http://127.0.0.1:49153`` (``FLOWDOCK_API_URL``)."""
        if self.bind_host:
            return f"http://{self._url_host(self.bind_host)}:{self._host_port}"
        host = self.get_container_host_ip()
        return f"http://{self._url_host(host)}:{self.get_exposed_port(CONTAINER_PORT)}"

    def stream_url(self) -> str:
        """The Streaming API's base URL (``FLOWDOCK_STREAM_URL``): ``api_url()/stream/flows``."""
        return self.api_url() + "/stream/flows"

    @property
    def control(self) -> ControlAPI:
        """The control API (``/_mock``), with the admin token when one is set."""
        return ControlAPI(self.api_url(), self.admin_token)

    @property
    def user(self) -> dict[str, Any]:
        """The default world's main user: ``id``, ``email``, ``password``, ``api_token``, ``nick``..."""
        if self._user is None:
            users = {u["id"]: u for u in self.control.call("GET", "/state")["users"]}
            self._user = dict(users.get(MAIN_USER_ID) or users[min(users)])
        return self._user

    @property
    def token(self) -> str:
        """The main user's API token: HTTP Basic username (any password), or ``?access_token=``."""
        return str(self.user["api_token"])

    def environment(self) -> dict[str, str]:
        """The variables Flowdock clients read, pointing at this container (as ``flowdock-mock run``
        sets them): ``FLOWDOCK_API_URL``, ``FLOWDOCK_STREAM_URL``, ``HUBOT_FLOWDOCK_API_TOKEN``..."""
        env = {
            "FLOWDOCK_API_URL": self.api_url(),
            "FLOWDOCK_STREAM_URL": self.stream_url(),
            "FLOWDOCK_URL": self.api_url(),
            "HUBOT_FLOWDOCK_API_TOKEN": self.token,
            "HUBOT_FLOWDOCK_LOGIN_EMAIL": str(self.user["email"]),
            "HUBOT_FLOWDOCK_LOGIN_PASSWORD": str(self.user["password"]),
            "FLOWDOCK_MOCK_URL": self.api_url(),
            "FLOWDOCK_MOCK_API_TOKEN": self.token,
        }
        if self.admin_token:
            env["FLOWDOCK_MOCK_ADMIN_TOKEN"] = self.admin_token
        return env

    # --- worlds and the kit ------------------------------------------------------------------------
    def new_world(self, options: dict[str, Any] | None = None) -> FlowdockWorld:
        """``POST /_mock/worlds``: a world of its own (``options``: ``{"seed": 7, "sizes": {...}}``),
        with its credentials (``.credentials``, ``.user``, ``.api_token``) and the kit on it."""
        return create_world(self.control, options)

    def _kit(self) -> tuple[ControlAPI, str | None]:
        return self.control, None
