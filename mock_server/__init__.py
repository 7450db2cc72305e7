"""flowdock-mock: a stateful, contract-faithful mock of the discontinued Flowdock REST API.

``from mock_server import create_app`` builds the ASGI app. The import is lazy so that light
modules (the world generator, the CLI's ``--help``) do not pay for importing Connexion.
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mock_server.app import create_app

        return create_app
    raise AttributeError(name)
