"""Plain NumPy/pandas twins of neutralkit's functions: the executable spec.

Same names and signatures as the fast API, written to be read, not to be fast (one
``numpy.linalg.lstsq(..., rcond=1e-6)`` per era for neutralization). The property
tests check every fast function against its twin here.
"""

from __future__ import annotations

from ._contribution import *  # noqa: F403
from ._contribution import __all__ as _contribution_all
from ._diagnostics import *  # noqa: F403
from ._diagnostics import __all__ as _diagnostics_all
from ._metamodel import *  # noqa: F403
from ._metamodel import __all__ as _metamodel_all
from ._neutralize import *  # noqa: F403
from ._neutralize import __all__ as _neutralize_all
from ._payout import *  # noqa: F403
from ._payout import __all__ as _payout_all
from ._scoring import *  # noqa: F403
from ._scoring import __all__ as _scoring_all

__all__ = [
    *_neutralize_all,
    *_scoring_all,
    *_metamodel_all,
    *_diagnostics_all,
    *_contribution_all,
    *_payout_all,
]
