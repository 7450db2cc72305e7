"""Where each stage of our pipeline (middleware/pipeline.py) sits among Connexion's own layers."""

from __future__ import annotations

from connexion.middleware import MiddlewarePosition

from mock_server.middleware.pipeline import Stage

POSITIONS = {
    Stage.OUTSIDE: MiddlewarePosition.BEFORE_EXCEPTION,
    Stage.AROUND_VALIDATION: MiddlewarePosition.BEFORE_VALIDATION,
    Stage.BEFORE_HANDLER: MiddlewarePosition.BEFORE_CONTEXT,
}
"""Stage -> Connexion's middleware position; layers of one stage keep the pipeline's order."""
