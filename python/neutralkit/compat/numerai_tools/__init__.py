"""A drop-in for numerai-tools 0.7.2, computed with neutralkit's kernels.

Three submodules mirror the original's three modules, with the same public names,
signatures and results:

* :mod:`~neutralkit.compat.numerai_tools.scoring` for ``numerai_tools.scoring``
  (also re-exported here, so ``from neutralkit.compat.numerai_tools import
  numerai_corr`` works as before);
* :mod:`~neutralkit.compat.numerai_tools.signals` for ``numerai_tools.signals``;
* :mod:`~neutralkit.compat.numerai_tools.submissions` for
  ``numerai_tools.submissions``.

So ``from neutralkit.compat.numerai_tools import scoring, signals, submissions``
replaces ``from numerai_tools import scoring, signals, submissions``.

``N_THREADS`` (here or on :mod:`.scoring`; setting either sets both) is the number of
threads the kernels behind the drop-in use; ``None`` = every core. Results do not
depend on it.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from . import scoring, signals, submissions
from .scoring import *  # noqa: F403
from .scoring import N_THREADS
from .scoring import __all__ as _scoring_all


class _Package(types.ModuleType):
    """The package module: ``N_THREADS`` set here is set on :mod:`.scoring`, where
    the kernels read it (the historical ``compat.numerai_tools.N_THREADS = 1``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "N_THREADS":
            scoring.N_THREADS = value
        super().__setattr__(name, value)

    def __getattribute__(self, name: str) -> Any:
        if name == "N_THREADS":
            return scoring.N_THREADS
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package

__all__ = ["N_THREADS", "scoring", "signals", "submissions", *_scoring_all]
