"""Where the files that ship with GuiGen are: the models and the desktop assets (icon, .desktop, MIME).

An installed package (a wheel, `pip install .`, pipx) carries them as package data, guigen/models and
guigen/assets (pyproject maps the repository's top-level models/ and assets/ there); a source checkout
(an editable install, or the repository on sys.path) has them beside the guigen folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(name: str) -> Path:
    """The folder `name` ("models" or "assets") of this GuiGen: the package's own, else the checkout's."""
    packaged = resources.files("guigen") / name
    if packaged.is_dir():  # a wheel unpacks to plain files, so this is a real folder
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / name
