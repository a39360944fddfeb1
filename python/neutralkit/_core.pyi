"""Type stubs for the compiled extension (internal; use the neutralkit package)."""

from typing import Any

def __getattr__(name: str) -> Any: ...
