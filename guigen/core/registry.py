"""Shipped and user models by name: `shakespeare` means models/shakespeare.safetensors."""

from __future__ import annotations

import os
from pathlib import Path

SUFFIX = ".safetensors"


def model_dirs() -> list[Path]:
    """Where named models are looked up, first match wins: $GUIGEN_MODELS, the user's, the shipped."""
    dirs = [Path(p) for p in os.environ.get("GUIGEN_MODELS", "").split(os.pathsep) if p]
    dirs.append(user_models_dir())
    dirs.append(shipped_dir())
    return dirs


def shipped_dir() -> Path:
    """The models that ship with GuiGen: the package's guigen/models, or the checkout's models/."""
    from guigen.core.resources import shipped

    return shipped("models")


def user_models_dir() -> Path:
    """Where the user's own models go (the app's training saves there): a name found here shadows a shipped one."""
    from platformdirs import user_data_path

    return user_data_path("guigen") / "models"


def settings_file() -> str:
    """Where the app keeps its settings (QSettings' place for organisation and application GuiGen)."""
    import sys

    if sys.platform.startswith("linux"):
        from platformdirs import user_config_path

        return str(user_config_path() / "GuiGen" / "GuiGen.conf")
    if sys.platform == "darwin":
        return str(Path.home() / "Library" / "Preferences" / "com.guigen.GuiGen.plist")
    return r"the registry, HKEY_CURRENT_USER\Software\GuiGen\GuiGen"


def available() -> dict[str, Path]:
    """Every named model: name -> path (earlier directories shadow later ones)."""
    found: dict[str, Path] = {}
    for d in reversed(model_dirs()):
        if d.is_dir():
            for p in sorted(d.glob("*" + SUFFIX)):  # unreadable or odd files too: load_model says what is wrong
                if not p.name.endswith(".ckpt" + SUFFIX):
                    found[p.name[: -len(SUFFIX)]] = p
    return dict(sorted(found.items()))


def resolve(name_or_path: str) -> Path:
    """A path that exists, or a model name; raise FileNotFoundError listing the names otherwise."""
    p = Path(name_or_path).expanduser()
    if p.suffix == SUFFIX or os.sep in name_or_path or os.path.lexists(p):
        if os.path.lexists(p):  # lexists: a broken link or a link loop is for load_model to explain
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
