"""Placeholder: reference twin of neutralkit.diagnostics."""

__all__: list[str] = []
