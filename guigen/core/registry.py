"""Shipped and user models by name: `shakespeare` means models/shakespeare.safetensors."""

from __future__ import annotations

import os
from pathlib import Path

SUFFIX = ".safetensors"


def model_dirs() -> list[Path]:
    """Where named models are looked up, first match wins: $GUIGEN_MODELS, the user's, the shipped."""
    from platformdirs import user_data_path

    dirs = [Path(p) for p in os.environ.get("GUIGEN_MODELS", "").split(os.pathsep) if p]
    dirs.append(user_data_path("guigen") / "models")
    dirs.append(shipped_dir())
    return dirs


def shipped_dir() -> Path:
    """The models/ folder of the source checkout: the models that ship with GuiGen."""
    return Path(__file__).resolve().parents[2] / "models"


def available() -> dict[str, Path]:
    """Every named model: name -> path (earlier directories shadow later ones)."""
    found: dict[str, Path] = {}
    for d in reversed(model_dirs()):
        if d.is_dir():
            for p in sorted(d.glob("*" + SUFFIX)):
                if not p.name.endswith(".ckpt" + SUFFIX):
                    found[p.name[: -len(SUFFIX)]] = p
    return dict(sorted(found.items()))


def resolve(name_or_path: str) -> Path:
    """A path that exists, or a model name; raise FileNotFoundError listing the names otherwise."""
    p = Path(name_or_path).expanduser()
    if p.suffix == SUFFIX or os.sep in name_or_path or p.exists():
        if p.exists():
            return p
        raise FileNotFoundError(f"{name_or_path}: no such model file")
    models = available()
    if name_or_path in models:
        return models[name_or_path]
    names = ", ".join(models) or "none installed"
    raise FileNotFoundError(f"no model named {name_or_path!r} (available: {names}); give a name or a .safetensors path")


def load(name_or_path: str):
    from guigen.core.modelfile import load_model

    path = resolve(name_or_path)
    return load_model(path, name=path.name.removesuffix(SUFFIX))
