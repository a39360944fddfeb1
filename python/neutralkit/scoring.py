"""Placeholder: filled in by the scoring work."""

__all__: list[str] = []
