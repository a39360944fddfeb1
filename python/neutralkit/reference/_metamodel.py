"""Placeholder: reference twin of neutralkit.metamodel."""

__all__: list[str] = []
