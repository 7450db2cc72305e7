"""Control API handlers (spec/control.yaml, mounted at /_mock), one module per tag.

These operate the mock itself (health, reset, state, journal, faults, file downloads). They are
thin like the Flowdock handlers: they call the store or the server's runtime objects.
"""
