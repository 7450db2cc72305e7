"""Swagger UI for both contracts, from the swagger-ui-bundle package through Connexion.

One Swagger UI at ``/_mock/swagger/``, served by Connexion for the control API, with both
documents in its spec selector: the Flowdock contract (``/openapi.json``, the default) and the
control API (``/_mock/openapi.json``). Under ``/_mock`` the admin token guards it like the rest of
the mock's own pages, and it can never collide with a Flowdock path. Connexion serves both specs
with ``servers: [{url: <base path>}]``, so "Try it out" calls this server. The OAuth dialog comes
pre-filled with the default world's OAuth application; the default user's credentials are in the
``basicAuth`` scheme's description, shown next to the Authorize fields.
"""

from __future__ import annotations

from typing import Any

from connexion.options import SwaggerUIOptions

SWAGGER_UI = "/swagger"
"""Relative to the control API's base path: /_mock/swagger/."""
FLOWDOCK_SPEC = "Flowdock API"
CONTROL_SPEC = "flowdock-mock control API"

_CONFIG = {
    "tryItOutEnabled": True,
    "displayRequestDuration": True,
    "docExpansion": "list",
    "filter": True,
    "deepLinking": True,
}


def swagger_ui_options(oauth_app: dict[str, Any]) -> SwaggerUIOptions:
    """The control API: its spec at /_mock/openapi.json and the one Swagger UI for both specs."""
    return SwaggerUIOptions(
        serve_spec=True,
        swagger_ui=True,
        swagger_ui_path=SWAGGER_UI,
        swagger_ui_config={
            **_CONFIG,
            "urls": [
                {"url": "/openapi.json", "name": FLOWDOCK_SPEC},
                {"url": "/_mock/openapi.json", "name": CONTROL_SPEC},
            ],
        },
        swagger_ui_template_arguments={
            "initOAuth": {
                "clientId": oauth_app["client_id"],
                "clientSecret": oauth_app["client_secret"],
                "scopes": "flow private manage profile",
            }
        },
    )
