"""Placeholder: reference twin of neutralkit.scoring."""

__all__: list[str] = []
