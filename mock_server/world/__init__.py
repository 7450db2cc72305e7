"""The Flowdock world: the Faker generator (generator.py) and world documents (documents.py).

The generator's public names are re-exported here: ``from mock_server.world import MAIN_USER``.
"""

from mock_server.world.generator import (
    CORE_FLOWS,
    DEFAULT_SEED,
    EPOCH_MS,
    INTEGRATION_APP,
    MAIN_USER,
    OAUTH_APP,
    SECOND_USER,
    Sizes,
    generate,
)

__all__ = [
    "CORE_FLOWS",
    "DEFAULT_SEED",
    "EPOCH_MS",
    "INTEGRATION_APP",
    "MAIN_USER",
    "OAUTH_APP",
    "SECOND_USER",
    "Sizes",
    "generate",
]
