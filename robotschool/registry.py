"""One small registry for every pluggable part: scenes (tasks), robots and devices.

A part registers itself with a decorator in its own module; `load_builtins()` imports every module of the
built-in packages once (found with pkgutil, not listed by hand), so what is registered never depends on what
the caller happened to import, and adding a part never means editing a list somewhere else.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, TypeVar

from robotschool.errors import UnknownNameError

T = TypeVar("T")

_BUILTIN_PACKAGES = ("robotschool.robots", "robotschool.tasks", "robotschool.devices")
_loaded = False


class Registry(Generic[T]):
    """Name -> class mapping for one kind of part ("scene", "robot", "device")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            setattr(obj, "registry_name", name)
            return obj
        return deco

    def get(self, name: str) -> T:
        load_builtins()
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(self.names()) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid {self.kind}s: {valid}") from None

    def names(self) -> list[str]:
        load_builtins()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        load_builtins()
        return name in self._items


SCENES: Registry = Registry("scene")
ROBOTS: Registry = Registry("robot")
DEVICES: Registry = Registry("device")


def load_builtins() -> None:
    """Import every module of the built-in part packages exactly once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for pkg_name in _BUILTIN_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{pkg_name}.{info.name}")
