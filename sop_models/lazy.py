"""Lazy package APIs (PEP 562), shared by every layer's package `__init__`.

A package lists its public names by the submodule that defines them; a submodule is imported
when one of its names is first used, so importing the package (or one of its submodules) loads
no other. `sop --help` stays fast because nothing heavy is imported on the way.

    __all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
        "compute": ("compute_kpis", "unit_sums"),
    })
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, Iterable[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`__all__`, `__getattr__` and `__dir__` for `package` exporting `exports` lazily."""
    where = {name: module for module, names in exports.items() for name in names}
    public = sorted(where)

    def get_attribute(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(import_module(f"{package}.{where[name]}"), name)
        return value

    def names() -> list[str]:
        return sorted({*namespace, *public})

    return public, get_attribute, names
