"""Our ASGI layers around the Connexion app; ``pipeline.PIPELINE`` orders them."""
