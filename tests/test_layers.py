"""Every package of the service sits in a layer of the import contract, so none escapes it."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import arc

ROOT = Path(__file__).resolve().parents[1]


def _layered() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [layers] = [c for c in config["contracts"] if c["type"] == "layers"]
    names: set[str] = set()
    for layer in layers["layers"]:
        for part in layer.replace("|", ":").split(":"):
            names.add(part.strip())
    return names


def test_every_arc_module_belongs_to_a_layer():
    layered = _layered()
    modules = {f"arc.{m.name}" for m in pkgutil.iter_modules(arc.__path__)}
    assert modules - layered == set(), "add these to a layer in pyproject.toml [tool.importlinter]"
    assert {"billing", "devices"} <= layered
