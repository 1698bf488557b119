"""The `guigen` command: generate, train, prepare, eval, info, render, app, install-desktop, cells, harmonize.

Bare `guigen` opens the desktop app. Each subcommand lives in its own module and registers
itself with `add_parser(subparsers)`; its `run(args)` returns the exit status.

Exit status, for every command: 0 done; 2 a wrong option, model or input (one line naming it, and
for a misspelled option the closest real one); 1 a file the system could not read or write; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
import warnings

from guigen import __version__
from guigen.core.files import STDOUT, stdout_errors  # noqa: F401 (stdout_errors: the commands use it from here)

SUBCOMMANDS = ["generate", "train", "prepare", "eval", "ensemble", "info", "render", "app", "desktop", "cells", "harmonize", "live", "ports"]




class CliError(Exception):
    """An error to show the user as one line, with exit status 2."""


# the file types `guigen FILE` opens in the app (as a file manager runs the desktop entry): a primer or a model
OPENS = (".mid", ".midi", ".abc", ".musicxml", ".mxl", ".xml", ".safetensors")
REQUIRED = "the following arguments are required: "


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block: `--help` shows that) and exit status 2."""

    def error(self, message):
        if message.startswith(REQUIRED):
            names = message[len(REQUIRED):].split(", ")
            message = f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} required (see {self.prog} --help)"
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = Parser(
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
    """parse_args, with a hint when a model name is given without -m (`guigen generate shakespeare`),
    and an unknown option named with the closest real one before anything else is checked."""
    _model_name_hint(parser, argv)
    _unknown_option(parser, argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = parser.commands.get(args.command) if args.command else None
        word = next((w for w in extra if not w.startswith("-")), None)
        if sub is not None and word is not None and "-m" in sub._option_string_actions:
            sub.error(f"unexpected argument {word!r}; did you mean -m {word}?")
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _unknown_option(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """`guigen generate --temprature 0.5`: name the option and the closest real one, not the 0.5 after it."""
    chain, words = [parser], list(argv)
    if words and not words[0].startswith("-") and words[0] not in parser.commands:
        close = difflib.get_close_matches(words[0], list(parser.commands), n=1, cutoff=0.75)
        if close:  # `guigen genrate`
            parser.error(f"unknown command {words[0]}; did you mean {close[0]}?")
    if words and words[0] not in parser.commands and words[0] not in parser._option_string_actions:
        words = ["app", *words]  # bare `guigen --screenshot x.png`: the app's options
    known: dict[str, argparse.Action] = dict(parser._option_string_actions)
    skip = False
    for word in words:
        if skip:  # the value of the option before it, whatever it looks like (`--seed -1`)
            skip = False
            continue
        if word == "--":
            return
        sub = _subcommand(chain[-1], word)
        if sub is not None:
            chain.append(sub)
            known.update(sub._option_string_actions)
            continue
        if not word.startswith("-") or word == "-" or _is_number(word):
            continue
        name = word.split("=", 1)[0]
        action = known.get(name) or (known.get(word[:2]) if not word.startswith("--") else None)
        if action is None and name.startswith("--"):  # argparse takes a unique prefix (--temp)
            found = {known[o] for o in known if o.startswith(name)}
            action = found.pop() if len(found) == 1 else None
            if found:  # ambiguous: argparse says which
                continue
        if action is None:
            close = difflib.get_close_matches(name, [o for o in known if o.startswith("--")] or list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f" (see {chain[-1].prog} --help)"
            chain[-1].error(f"unknown option {name}{hint}")
        # its value is the next word unless joined to it (--top-k=5, -n5)
        skip = action.nargs != 0 and (len(word) == 2 if not word.startswith("--") else "=" not in word)


def _subcommand(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser | None:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction) and word in action.choices:
            return action.choices[word]
    return None


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


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
    if argv and argv[0].lower().endswith(OPENS):
        argv = ["app", *argv]  # `guigen FILE.mid`, as a file manager runs the desktop entry
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        argv = ["app", *argv]
        args = _parse(parser, argv)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 0
    with contextlib.suppress(ImportError):
        import guigen.music  # noqa: F401  registers the music encodings, so music model files load
    from guigen.core.data import DataError
    from guigen.core.files import describe_os_error
    from guigen.core.modelfile import ModelFileError

    args.argv = list(argv)  # recorded in what training writes, to say how a model was made
    say = f"guigen {args.command}: error:"
    from guigen.core.safetext import one_line  # a file's control characters never reach the terminal raw

    warnings.showwarning = lambda message, *_, **__: print(f"guigen {args.command}: warning: {one_line(message)}",
                                                           file=sys.stderr)  # one line, not a source line
    try:
        return args.run(args) or 0
    except (CliError, ModelFileError, DataError, ValueError) as e:
        print(f"{say} {one_line(e)}", file=sys.stderr)
        return getattr(e, "exit_status", 2)  # a model file the system could not read: 1, as for an OSError
    except KeyboardInterrupt:
        print(f"guigen {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `guigen generate ... | head`
        _quiet_stdout()
        return 0
    except OSError as e:
        if e.errno is None:  # raised by GuiGen with its own message ("out.txt exists; ...")
            print(f"{say} {one_line(e)}", file=sys.stderr)
            return 2
        if e.filename is None or e.filename == STDOUT:
            _quiet_stdout()
        print(f"{say} {one_line(describe_os_error(e))}", file=sys.stderr)  # every path read or written: one line
        return 1
    except BaseException as e:  # a bug, or a library's panic (pyo3's PanicException is a BaseException)
        if isinstance(e, (SystemExit, GeneratorExit)) or os.environ.get("GUIGEN_TRACEBACK"):
            raise
        what = one_line((str(e).strip().splitlines() or [""])[0])
        print(f"{say} internal error ({type(e).__name__}: {what}); please report it "
              "(GUIGEN_TRACEBACK=1 shows where it happened)", file=sys.stderr)
        return 1
