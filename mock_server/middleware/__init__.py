"""Our stages of the request pipeline; ``pipeline.PIPELINE`` orders them with Connexion's."""
