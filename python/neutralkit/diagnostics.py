"""Placeholder: filled in by the diagnostics work."""

__all__: list[str] = []
