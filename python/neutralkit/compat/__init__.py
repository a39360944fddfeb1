"""Drop-in replacements for other packages' APIs, built on neutralkit's kernels.

:mod:`neutralkit.compat.numerai_tools` mirrors numerai-tools 0.7.2: its ``scoring``,
``signals`` and ``submissions`` modules, as submodules of the same names.
"""

__all__ = ["numerai_tools"]
