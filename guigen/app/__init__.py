"""The GuiGen desktop app (PySide6 + pyqtgraph). Importing this package imports no Qt."""

import guigen.music  # noqa: F401  registers the music encodings, so music model files load


def main(argv=None) -> int:
    """Entry point of the `guigen-app` launcher: the same as `guigen app`."""
    import sys

    from guigen.cli import main as cli_main

    return cli_main(["app", *(sys.argv[1:] if argv is None else argv)])
