"""Drop-in replacements for other packages' APIs, built on neutralkit's kernels.

:mod:`neutralkit.compat.numerai_tools` mirrors ``numerai_tools.scoring`` (0.7.2).
"""

__all__ = ["numerai_tools"]
