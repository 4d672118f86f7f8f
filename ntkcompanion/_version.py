"""The package's version, in a module of its own so that any module can import it at the top.

(``ntkcompanion/__init__.py`` imports every module, so a module importing the version from the
package itself would close a circle.) It equals ``version`` in ``pyproject.toml``.
"""

__version__ = "0.1.0"
