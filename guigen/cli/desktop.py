"""`guigen install-desktop [--uninstall]`: add GuiGen to (or remove it from) the application menu."""

from __future__ import annotations

import sys


def add_parser(sub):
    p = sub.add_parser("install-desktop", help="add GuiGen to the desktop's application menu",
                       description="Install a freedesktop .desktop entry and icons into your XDG data folder "
                                   "($XDG_DATA_HOME, else ~/.local/share).")
    p.add_argument("--uninstall", action="store_true", help="remove the entry and icons again")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.app import desktop

    if args.uninstall:
        removed = desktop.uninstall()
        for p in removed:
            print(f"removed {p}", file=sys.stderr)
        if not removed:
            print("nothing to remove: GuiGen was not installed in the menu", file=sys.stderr)
        return 0
    for p in desktop.install():
        print(f"installed {p}", file=sys.stderr)
    return 0
