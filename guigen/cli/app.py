"""`guigen app`: open the desktop app (also what bare `guigen` does), or take a screenshot of it."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("app", help="open the desktop app (the default)",
                       description="Open the GuiGen desktop app. With --screenshot, generate, save a picture "
                                   "of the window and exit (works without a display: QT_QPA_PLATFORM=offscreen).")
    p.add_argument("file", nargs="?", help="a model file (.safetensors, as --model) or a MIDI, ABC or MusicXML "
                                           "file to start the music from (.mid, .abc, .musicxml, .mxl; with the "
                                           "last music model, else bach-chorales); the desktop menu passes it")
    p.add_argument("-m", "--model", help="model name or .safetensors path (default: the last one used, else shakespeare)")
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save a picture of the window and exit")
    p.add_argument("--force", action="store_true", help="replace an existing --screenshot file")
    p.add_argument("--generate", type=int, default=0, metavar="N", help="generate N tokens once the model is loaded")
    p.add_argument("--seed", type=int, help="random seed for --generate")
    p.add_argument("-t", "--temperature", type=float, help="start at this temperature")
    p.add_argument("--size", default="1280x800", help="window size for --screenshot; the picture is exactly this "
                                                       "size (default 1280x800)")
    p.add_argument("--palette", choices=("light", "dark"), help="the Fusion style with a light or dark palette "
                                                                 "(default: the system's look)")
    p.add_argument("--variations", type=int, default=0, metavar="N",
                   help="generate N variations of the primer side by side (--generate tokens each)")
    p.add_argument("--cells", metavar="FEATURE|LAYER:CELL",
                   help="open the Cells view; once generated, colour by the best cell for FEATURE (e.g. "
                        "line_position) or by LAYER:CELL")
    p.add_argument("--exit-when-ready", action="store_true",
                   help="quit once the window is shown and painted with the model loaded, printing "
                        "'guigen app: ready' to stderr (for timing startup: benchmarks/app_speed.py)")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.cli import CliError

    if args.generate < 0:
        raise CliError("--generate must be >= 0")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise CliError(f"--size is WIDTHxHEIGHT, like 1280x800, not {args.size!r}") from None
    if args.screenshot and args.screenshot.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise CliError("--screenshot must name a .png or .jpg file")
    if args.screenshot:
        from guigen.core.files import check_output

        check_output(args.screenshot, overwrite=args.force)  # before any work: exists, a folder, unwritable
    import os
    import sys

    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        if not args.screenshot:
            raise CliError("no display to open a window on (DISPLAY is not set); "
                           "for a picture without a screen use --screenshot FILE.png")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    on_x11 = os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and (os.environ.get("QT_QPA_PLATFORM") or ("xcb" if on_x11 else "")) == "xcb":
        from guigen.app.platform_libs import x11_problem

        problem = x11_problem()  # Qt would abort with a core dump; say what to install instead
        if problem:
            error = CliError(problem)
            error.exit_status = 1  # the system lacks something, as for an OSError
            raise error
    if w < 200 or h < 200:
        raise CliError(f"--size {args.size} is too small; the window needs at least 200x200")
    if not 0 <= args.variations <= 16:
        raise CliError("--variations is 1 to 16 (0 = off)")
    primer = None
    model = args.model
    if args.file:
        from guigen.app.music import is_midi_primer

        if is_midi_primer(args.file):
            if not Path(args.file).is_file():
                raise CliError(f"{args.file}: no such file")
            primer = args.file
        elif args.model:
            raise CliError("give the model either as FILE or with --model, not both")
        else:
            model = args.file
    from guigen.app.main import run as run_app

    return run_app(model, str(args.screenshot) if args.screenshot else None, args.generate, args.seed,
                   args.temperature, (w, h), exit_when_ready=args.exit_when_ready, palette=args.palette,
                   variations=args.variations, primer=primer, cells=args.cells)
