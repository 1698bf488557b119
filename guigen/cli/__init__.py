"""The `guigen` command: generate, train, eval, info, render, app, install-desktop.

Bare `guigen` opens the desktop app. Each subcommand lives in its own module and registers
itself with `add_parser(subparsers)`; its `run(args)` returns the exit status.
"""

from __future__ import annotations

import argparse
import sys

from guigen import __version__

SUBCOMMANDS = ["generate", "train", "eval", "info", "render", "app", "desktop"]


class CliError(Exception):
    """An error to show the user as one line, with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="guigen",
        description="Generate text or music with LSTM models, train your own, and explore temperature. "
        "With no subcommand, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"guigen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"guigen.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"guigen.cli.{name}":
                raise
            continue  # a subcommand not built yet
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        argv = ["app", *argv]
        args = parser.parse_args(argv)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 0
    from guigen.core.data import DataError
    from guigen.core.modelfile import ModelFileError

    args.argv = list(argv)  # recorded in what training writes, to say how a model was made
    try:
        return args.run(args) or 0
    except (CliError, ModelFileError, DataError, ValueError, FileExistsError, FileNotFoundError) as e:
        print(f"guigen {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"guigen {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `guigen generate ... | head`
        return 0
