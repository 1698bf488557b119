"""The `guigen` command: generate, train, eval, info, render, app, install-desktop.

Bare `guigen` opens the desktop app. Each subcommand lives in its own module and registers
itself with `add_parser(subparsers)`; its `run(args)` returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from guigen import __version__

SUBCOMMANDS = ["generate", "train", "prepare", "eval", "info", "render", "app", "desktop", "cells", "harmonize", "live", "ports"]


STDOUT = "standard output"  # the name an OSError on stdout carries (see stdout_errors)


class CliError(Exception):
    """An error to show the user as one line, with exit status 2."""


@contextlib.contextmanager
def stdout_errors():
    """Name standard output in the OSErrors raised while writing it (a full disk, a closed pipe)."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = STDOUT
        raise


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
    parser.commands = sub.choices  # name -> its parser, for the hints in _parse
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, with a hint when a model name is given without -m (`guigen generate shakespeare`)."""
    _model_name_hint(parser, argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = parser.commands.get(args.command) if args.command else None
        word = next((w for w in extra if not w.startswith("-")), None)
        if sub is not None and word is not None and "-m" in sub._option_string_actions:
            sub.error(f"unexpected argument {word!r}; did you mean -m {word}?")
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _model_name_hint(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """`guigen eval shakespeare my.txt`: a model's name where a command taking -m expects a file."""
    sub = parser.commands.get(argv[0]) if argv else None
    if sub is None or "-m" not in sub._option_string_actions or len(argv) < 2 or argv[1].startswith("-"):
        return
    if any(a in ("-m", "--model") or a.startswith(("--model=", "-m")) for a in argv[1:]):
        return
    word = argv[1]
    if not os.path.lexists(word):
        from guigen.core import registry

        if word in registry.available():
            sub.error(f"{word!r} is a model's name; did you mean -m {word}?")


def _quiet_stdout() -> None:
    """After standard output failed (a closed pipe, a full disk): send what is left nowhere, so exit is quiet."""
    try:
        sys.stdout.flush()
    except OSError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].lower().endswith((".mid", ".midi", ".safetensors")):
        argv = ["app", *argv]  # `guigen FILE.mid`, as a file manager runs the desktop entry
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        argv = ["app", *argv]
        args = _parse(parser, argv)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 0
    from guigen.core.data import DataError
    from guigen.core.files import describe_os_error
    from guigen.core.modelfile import ModelFileError

    args.argv = list(argv)  # recorded in what training writes, to say how a model was made
    say = f"guigen {args.command}: error:"
    warnings.showwarning = lambda message, *_, **__: print(f"guigen {args.command}: warning: {message}",
                                                           file=sys.stderr)  # one line, not a source line
    try:
        return args.run(args) or 0
    except (CliError, ModelFileError, DataError, ValueError) as e:
        print(f"{say} {e}", file=sys.stderr)
        return getattr(e, "exit_status", 2)  # a model file the system could not read: 1, as for an OSError
    except KeyboardInterrupt:
        print(f"guigen {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `guigen generate ... | head`
        _quiet_stdout()
        return 0
    except OSError as e:
        if e.errno is None:  # raised by GuiGen with its own message ("out.txt exists; ...")
            print(f"{say} {e}", file=sys.stderr)
            return 2
        if e.filename is None or e.filename == STDOUT:
            _quiet_stdout()
        print(f"{say} {describe_os_error(e)}", file=sys.stderr)  # every path read or written: one line
        return 1
    except BaseException as e:  # a bug, or a library's panic (pyo3's PanicException is a BaseException)
        if isinstance(e, (SystemExit, GeneratorExit)) or os.environ.get("GUIGEN_TRACEBACK"):
            raise
        what = (str(e).strip().splitlines() or [""])[0]
        print(f"{say} internal error ({type(e).__name__}: {what}); please report it "
              "(GUIGEN_TRACEBACK=1 shows where it happened)", file=sys.stderr)
        return 1
