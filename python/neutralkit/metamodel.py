"""Placeholder: filled in by the metamodel work."""

__all__: list[str] = []
