"""private handlers (to be implemented; operations answer 501 until listed in __all__)."""

__all__: list[str] = []
