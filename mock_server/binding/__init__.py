"""The binding to Connexion: the only package that imports it.

The resolver (operationId -> handler), the security checkers, request validators, the start-up
fast path, and the error rendering that turns Connexion's problems into Flowdock's error shape.
"""
