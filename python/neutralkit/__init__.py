"""neutralkit: fast, exact per-era neutralization and scoring for era-based tournaments.

Every function takes NumPy arrays or pandas objects and gives back the same kind
(index and columns kept). Per-era functions take ``eras=`` (one label per row, any
order); ``eras=None`` treats all rows as one era. The plain NumPy twin of every
function lives in :mod:`neutralkit.reference`.
"""

from __future__ import annotations

from .contribution import *  # noqa: F403
from .contribution import __all__ as _contribution_all
from .diagnostics import *  # noqa: F403
from .diagnostics import __all__ as _diagnostics_all
from .metamodel import *  # noqa: F403
from .metamodel import __all__ as _metamodel_all
from .neutralization import *  # noqa: F403
from .neutralization import __all__ as _neutralization_all
from .payout import *  # noqa: F403
from .payout import __all__ as _payout_all
from .scoring import *  # noqa: F403
from .scoring import __all__ as _scoring_all

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # neutralkit.reference (the NumPy twin, which uses scipy from the test extra) is
    # imported on first use, so the core package needs only numpy and pandas.
    if name == "reference":
        import importlib

        return importlib.import_module(".reference", __name__)
    raise AttributeError(f"module 'neutralkit' has no attribute {name!r}")


__all__ = [
    *_neutralization_all,
    *_scoring_all,
    *_metamodel_all,
    *_diagnostics_all,
    *_contribution_all,
    *_payout_all,
]
