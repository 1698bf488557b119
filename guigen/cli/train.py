"""`guigen train text|music ...`: train a model with a progress bar, checkpoints and resume.

On any torch device (--device), and under torchrun as several processes (DDP): there, only the
first process takes the lock, shows progress and writes files. Ctrl-C, SIGTERM or SIGHUP to any
process saves one checkpoint and stops them all.
"""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path

from guigen.cli import CliError
from guigen.core.devices import PRECISION_CHOICES  # torch-free

SIZE_DEFAULTS = {"layers": 2, "hidden": 512, "embed": 64, "dropout": 0.2}


def _common(p):
    p.add_argument("-o", "--output", required=True, type=Path, help="model file to write (.safetensors)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="train from the shards `guigen prepare` wrote to DIR (memory stays flat, whatever the "
                        "corpus size) instead of reading files; the data options were fixed there")
    g = p.add_argument_group("model size (taken from the checkpoint when resuming)")
    g.add_argument("--layers", type=int, help=f"LSTM layers (default {SIZE_DEFAULTS['layers']})")
    g.add_argument("--hidden", type=int, help=f"units per layer (default {SIZE_DEFAULTS['hidden']})")
    g.add_argument("--embed", type=int, help=f"embedding width (default {SIZE_DEFAULTS['embed']})")
    g.add_argument("--dropout", type=float, help=f"dropout (default {SIZE_DEFAULTS['dropout']})")
    t = p.add_argument_group("training")
    t.add_argument("--seq-len", type=int, help="steps of backpropagation through time (default 128)")
    t.add_argument("--batch", type=int, help="parallel streams per step (default 32)")
    t.add_argument("--epochs", type=int, help="passes over the training data (default 20)")
    t.add_argument("--lr", type=float, help="peak learning rate (default 0.002)")
    t.add_argument("--weight-decay", type=float, help="AdamW decoupled weight decay (default 0)")
    t.add_argument("--seed", type=int, help="random seed (default 1337)")
    t.add_argument("--checkpoint-minutes", type=float, help="minutes between checkpoints (default 5)")
    t.add_argument("--resume", type=Path, metavar="CKPT", help="continue from a checkpoint (.ckpt.safetensors)")
    t.add_argument("--init", metavar="MODEL", help="fine-tune: start from this model's weights (a name or a path); "
                   "its size and vocabulary are kept, dropout and training options may change")
    t.add_argument("--teacher", action="append", metavar="MODEL",
                   help="distil: also learn from this model's predictions (repeat for an ensemble, whose averaged "
                        "distribution is the target); same vocabulary or encoding as the data")
    t.add_argument("--teacher-weight", type=float,
                   help="with --teacher: share of the loss on the teachers' predictions, the rest on the data (default 0.5)")
    t.add_argument("--device", default="auto", metavar="DEVICE",
                   help="auto|cpu|cuda|cuda:N|mps: where to train (default auto: a CUDA GPU when there is one, "
                        "else the CPU); the model file is the same either way")
    t.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                   help="the arithmetic of the training steps (default auto: bf16 mixed precision on GPUs that have "
                        "it, else fp16; bf16 on CPUs that multiply it in hardware (Intel AMX), 1.5-2x faster there; "
                        "else fp32). Validation and the model file are float32 either way")
    t.add_argument("--force", action="store_true", help="replace an existing output model file")
    t.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(sub):
    p = sub.add_parser("train", help="train a model on your own text or MIDI files")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    t = kinds.add_parser("text", help="train a character-level model on text files")
    t.add_argument("files", nargs="*", type=Path, help="UTF-8 text files (none with --data)")
    t.add_argument("--val-frac", type=float, default=0.05, help="fraction after the training part used for validation")
    t.add_argument("--test-frac", type=float, default=0.0,
                   help="fraction at the end held out entirely, for `guigen eval --slice` (default 0)")
    t.add_argument("--drop-unknown", action="store_true",
                   help="with --init: leave out characters the model has never seen (counted, with a warning)")
    _common(t)
    t.set_defaults(run=run, make_data=_text_data, data_options=["--val-frac", "--test-frac", "--drop-unknown"])
    try:
        from guigen.cli import music_data as music_dataset
    except ImportError:
        return
    m = kinds.add_parser("music", help="train a note-level model on folders of MIDI (or ABC, MusicXML) files")
    music_dataset.add_arguments(m)
    m.add_argument("--conditions", action="store_true",
                   help="melody with --to-key: the model learns each tune's metre and mode (a token before the "
                   "tune), so generation can be asked for them (`generate --metre 6/8 --key D`)")
    _common(m)
    m.set_defaults(run=run, make_data=_music_data, data_options=[
        "--encoding", "--valid", "--transpose", "--min-pitch", "--max-pitch", "--to-key", "--conditions"])


def _from_shards(args) -> bool:
    """Whether this run reads prepared shards (--data); refuses sources or data options beside it."""
    sources = args.files if args.kind == "text" else args.folders
    if args.data is None:
        if not sources:
            raise CliError(f"give the {'text files' if args.kind == 'text' else 'MIDI folders'} to train on, "
                           "or --data DIR (made by `guigen prepare`)")
        return False
    if sources:
        raise CliError("--data trains from prepared shards: give no files or folders beside it")
    fixed = [o for o in args.data_options if any(a == o or a.startswith(o + "=") for a in args.argv)]
    if fixed:
        raise CliError(f"{', '.join(fixed)}: fixed when the data was prepared (see {args.data}/manifest.json); "
                       "run `guigen prepare` again to change")
    return True


def _music_data(args):
    from guigen.cli import music_data as music_dataset

    if not _from_shards(args):
        return music_dataset.from_args(args)
    from guigen.core.shards import music_shard_data

    return music_shard_data(args.data, fixed_codec=args.codec_from[1].codec if args.codec_from else None)


def _text_data(args):
    from guigen.core.data import text_data

    vocab = args.codec_from[1].codec if args.codec_from else None
    if args.resume_meta:  # a fine-tuning run's vocabulary is its model's, not the text's own
        from guigen.core.codec import codec_from_meta

        vocab = codec_from_meta(args.resume_meta["codec"])
    if _from_shards(args):
        from guigen.core.shards import text_shard_data

        return text_shard_data(args.data, vocab)
    if args.drop_unknown and vocab is None:
        print("note: --drop-unknown only matters with --init or --teacher: a new model's vocabulary holds every character",
              file=sys.stderr)
    data = text_data(args.files, args.val_frac, args.test_frac, vocab=vocab, drop_unknown=args.drop_unknown)
    if data.summary.get("dropped_chars"):
        print(f"warning: left out {data.summary['dropped_chars']:,} characters the model has never seen",
              file=sys.stderr)
    return data


def _teachers(args) -> list:
    """The models to distil from: as given, or on resume those the checkpoint's run began with."""
    from guigen.core import registry

    names = args.teacher
    if not names and args.resume_meta:
        names = args.resume_meta.get("extra_meta", {}).get("distilled_from")
    args.teacher = names or []
    if args.teacher_weight is not None and not args.teacher:
        raise CliError("--teacher-weight needs --teacher")
    if args.teacher_weight is not None and not 0 <= args.teacher_weight <= 1:
        raise CliError("--teacher-weight must be between 0 and 1")
    models = [registry.load(name) for name in args.teacher]
    kind = "text" if args.kind == "text" else "music"
    for name, m in zip(args.teacher, models):
        if m.codec.kind != kind:
            raise CliError(f"teacher {name} is a {m.codec.kind} model; it can't teach a {kind} model")
    return models


def _configs(args):
    from guigen.core.train import TrainConfig

    train_keys = ["seq_len", "batch", "epochs", "lr", "weight_decay", "seed", "checkpoint_minutes", "teacher_weight"]
    given = {k: getattr(args, k) for k in train_keys if getattr(args, k) is not None}
    if args.resume_meta:  # the checkpoint has it all (a fine-tuning run's --init only names where it began)
        meta = args.resume_meta
        train_cfg = TrainConfig.from_meta({**meta["train_config"], **given})
        return meta["model_config"], train_cfg
    if args.init_model is not None:
        cfg = args.init_model.config
        fixed = {"layers": cfg.layers, "hidden": cfg.hidden, "embed": cfg.embed}
        if any(getattr(args, k) is not None and getattr(args, k) != v for k, v in fixed.items()):
            raise CliError(f"the model to fine-tune is {cfg.layers}x{cfg.hidden} with embedding {cfg.embed}; "
                           "--layers, --hidden and --embed can't change")
        return {**fixed, "dropout": args.dropout if args.dropout is not None else cfg.dropout}, TrainConfig(**given)
    sizes = {k: getattr(args, k) if getattr(args, k) is not None else d for k, d in SIZE_DEFAULTS.items()}
    return sizes, TrainConfig(**given)


def _size_mismatch(meta: dict, args) -> str | None:
    """What a size option given on resume changes, in words (None: nothing)."""
    changed = [f"--{k} {getattr(args, k)} (the checkpoint's is {meta['model_config'][k]})" for k in SIZE_DEFAULTS
               if getattr(args, k) is not None and meta["model_config"].get(k) != getattr(args, k)]
    return ", ".join(changed) or None


def run(args) -> int:
    from guigen.core.devices import DeviceError, autocast_dtype, resolve_device, set_openmp_waiting

    set_openmp_waiting()  # before torch loads
    from guigen.core import distributed

    _check_ranges(args)
    if args.data is not None:  # a prepared folder checked field by field before torch loads (seconds)
        from guigen.core.shards import read_manifest

        read_manifest(args.data)
    out = args.output
    if out.suffix != ".safetensors":
        raise CliError(f"{out}: the output model file must end in .safetensors")
    world = distributed.launched()
    try:
        device = resolve_device(args.device, world.local_rank if world.size > 1 else None)
        autocast_dtype(device, args.precision)  # a precision the device can't do: one line, now
    except DeviceError as e:
        raise CliError(str(e)) from None
    distributed.start(world, device)
    try:
        return _run(args, out, device, distributed.current())
    finally:
        distributed.stop()


# option: (lowest, highest; a bound in [] is allowed itself, in () not): every range error names its option
RANGES = {"layers": "[1, )", "hidden": "[1, )", "embed": "[1, )", "dropout": "[0, 1)", "seq_len": "[1, )",
          "batch": "[1, )", "epochs": "[1, )", "lr": "(0, )", "weight_decay": "[0, )", "seed": "[0, )",
          "checkpoint_minutes": "(0, )", "teacher_weight": "[0, 1]", "val_frac": "[0, 1)", "test_frac": "[0, 1)"}


def _check_ranges(args) -> None:
    for name, spec in RANGES.items():
        v = getattr(args, name, None)
        if v is None:
            continue
        low, high = (x.strip(" [](") for x in spec[:-1].split(","))
        fits = (v >= float(low) if spec[0] == "[" else v > float(low))  # `not` of these also catches NaN
        if high:
            fits = fits and (v <= float(high) if spec[-1] == "]" else v < float(high))
        if not fits:
            bound = f"{'>=' if spec[0] == '[' else '>'} {low}"
            if high:
                bound = f"between {low} and {high}" if spec[0] + spec[-1] == "[]" else \
                    f"{bound} and {'<=' if spec[-1] == ']' else '<'} {high}"
            raise CliError(f"--{name.replace('_', '-')} must be {bound}, not {v:g}")


def _refuse_inputs(args, out, ckpt) -> None:
    """The model and its checkpoint never replace what training reads (the checkpoint may replace the
    one --resume continues: that is what resuming does)."""
    from guigen.core import registry
    from guigen.core.files import folder_inputs, refuse_inputs

    sources = [p for p in list(getattr(args, "files", None) or []) + list(getattr(args, "folders", None) or [])
               + list(getattr(args, "valid", None) or []) if not p.is_dir()]
    inputs = [("FILE", p) for p in sources] + [("--data", p) for p in (folder_inputs(args.data) if args.data else [])]
    inputs += [("--init", registry.resolve(args.init))] if args.init else []
    inputs += [("--teacher", registry.resolve(t)) for t in args.teacher or []]
    refuse_inputs([("-o", out), ("the checkpoint", ckpt)], inputs)
    refuse_inputs([("-o", out)], [("--resume", args.resume)])


def _run(args, out, device, world) -> int:
    import contextlib
    import io

    from guigen.core import distributed
    from guigen.core.runlock import LockedError, RunLock
    from guigen.core.train import checkpoint_path_for

    if out.exists() and not (args.force or args.resume):
        raise CliError(f"{out} exists; use --force to replace it, or --resume to continue its training")
    ckpt = checkpoint_path_for(out)
    if ckpt.exists() and not (args.force or args.resume):
        raise CliError(f"{ckpt} holds an earlier training run; continue it with --resume {ckpt}, "
                       "or start over with --force")
    from guigen.core.files import check_output

    for path in (out, ckpt):  # before any training: a device, folder or unwritable place is refused now
        check_output(path, overwrite=True)
    _refuse_inputs(args, out, ckpt)
    lock, refused = RunLock(out), None
    if world.main:  # the one process that writes holds the lock on what it writes
        try:
            lock.acquire()
        except LockedError as e:
            refused = str(e)
    if not distributed.all_agree(refused is None, device if device.type == "cuda" else None):
        raise CliError(refused or "the first process could not lock the output (see its message)")
    quiet = contextlib.redirect_stderr(io.StringIO()) if not world.main else contextlib.nullcontext()
    try:
        with quiet:  # one report, from the first process
            trainer = _prepare(args, out, device, world)
        return _train(args, out, trainer, world)
    finally:
        lock.release()


def _prepare(args, out, device, world):
    """The trainer, set up from the data, the options and a checkpoint."""
    from guigen.core.config import ModelConfig
    from guigen.core.devices import cpu_has_fast_bf16, describe
    from guigen.core.train import Trainer, describe_size, set_threads
    from tqdm import tqdm

    args.resume_meta = Trainer.read_checkpoint_meta(args.resume) if args.resume else None
    if args.resume_meta and (changed := _size_mismatch(args.resume_meta, args)):
        raise CliError(f"the checkpoint's model is {describe_size(args.resume_meta['model_config'])}; "
                       f"its size can't change on resume: leave out {changed}")
    args.init_model = None
    if args.init:
        from guigen.core import registry

        args.init_model = registry.load(args.init)
        if args.init_model.codec.kind != ("text" if args.kind == "text" else "music"):
            raise CliError(f"{args.init} is a {args.init_model.codec.kind} model; it can't be fine-tuned on {args.kind}")
    args.teacher_models = _teachers(args)
    # the model a run starts from, else its first teacher, fixes the vocabulary or encoding: (name, model)
    args.codec_from = ((args.init, args.init_model) if args.init_model is not None
                       else (args.teacher[0], args.teacher_models[0]) if args.teacher_models else None)
    data = args.make_data(args)
    sizes, train_cfg = _configs(args)
    sizes = {k: v for k, v in sizes.items() if k != "vocab_size"}
    model_cfg = ModelConfig(vocab_size=data.codec.num_classes, **sizes)
    unit = "char" if data.codec.kind == "text" else "event"
    command = "guigen " + shlex.join(map(str, args.argv))
    extra = {"command": command, **({"fine_tuned_from": args.init} if args.init else {}),
             **({"distilled_from": args.teacher} if args.teacher_models else {})}
    trainer = Trainer(data, model_cfg, train_cfg, out, extra_meta=extra, device=device, precision=args.precision)
    threads = set_threads() if device.type == "cpu" else None
    reading = []  # a progress bar, once the teachers read the training data ahead (text)

    def teachers_read(done, total):
        if not reading:
            reading.append(tqdm(total=total, unit=unit, unit_scale=True, disable=args.quiet or not world.main,
                                dynamic_ncols=True, file=sys.stderr, mininterval=1.0,
                                desc="teachers reading the training data"))
        reading[0].update(done - reading[0].n)

    trainer.set_teachers(args.teacher_models, progress=teachers_read)
    for bar in reading:
        bar.close()
    if args.resume:
        trainer.load_checkpoint(args.resume)
        if trainer.epoch >= train_cfg.epochs:  # nothing left to do: say how to do more
            raise CliError(f"this run already finished its {trainer.epoch} epoch{'' if trainer.epoch == 1 else 's'} (model in {out}); "
                           f"pass --epochs N with N > {trainer.epoch} to train further")
    elif args.init_model is not None:
        if getattr(data.codec, "metres", ()) and not getattr(args.init_model.codec, "metres", ()):
            from guigen.music.conditions import with_conditions

            args.init_model = with_conditions(args.init_model, data.codec)  # --conditions: new tokens, same events
        trainer.init_from(args.init_model)
        print(f"fine-tuning {args.init}: starting from its weights", file=sys.stderr)
    if args.resume:
        print(f"resuming at step {trainer.step:,} (epoch {trainer.epoch + 1})", file=sys.stderr)
    where = describe(device, trainer.amp, threads)
    if device.type == "cpu" and trainer.amp is not None and not cpu_has_fast_bf16():
        print("note: this CPU has no bfloat16 hardware (AMX); bf16 is emulated here and slower than "
              "--precision fp32", file=sys.stderr)
    if world.size > 1:
        where += f", {world.size} processes of {train_cfg.batch // world.size} streams each"
    print(f"model: {model_cfg.layers}x{model_cfg.hidden} LSTM, embed {model_cfg.embed}, "
          f"{trainer.model.num_parameters():,} parameters, {data.codec.num_classes} classes; "
          f"{len(data.train):,} training and {len(data.val):,} validation {unit}s; {where}", file=sys.stderr)
    return trainer


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl-C, a desktop session or scheduler ending, a closed terminal


def _train(args, out, trainer, world) -> int:
    import time

    from tqdm import tqdm

    from guigen.core.train import LN2, EpochEnd, Progress, Saved, Stopped

    unit = "char" if trainer.data.codec.kind == "text" else "event"
    first_signal = []

    def on_signal(signum, frame):
        # a second signal stops at once; one within a second of the first is the same request
        # (torchrun passes Ctrl-C on to processes that had it from the terminal already)
        if first_signal and time.monotonic() - first_signal[0] > 1.0:
            raise KeyboardInterrupt
        first_signal.append(time.monotonic())
        trainer.request_stop()

    previous = {name: signal.signal(getattr(signal, name), on_signal) for name in STOP_SIGNALS if hasattr(signal, name)}
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", disable=args.quiet or not world.main,
               dynamic_ncols=True, file=sys.stderr, mininterval=1.0)
    say = bar.write if world.main else (lambda *a, **k: None)
    try:
        for ev in trainer.run():
            if isinstance(ev, Progress):
                bar.update(ev.step - bar.n)
                bar.set_postfix_str(f"epoch {ev.epoch + 1} loss {ev.loss:.3f} {ev.tokens_per_s:,.0f} {unit}s/s", refresh=False)
            elif isinstance(ev, EpochEnd):
                mark = "  (best so far, saved)" if ev.best else ""
                say(f"epoch {ev.epoch}: train {ev.train_loss:.4f}, validation {ev.val_loss:.4f} nats/{unit} "
                    f"({ev.val_loss / LN2:.4f} bits){mark}", file=sys.stderr)
            elif isinstance(ev, Saved) and ev.what == "checkpoint" and not args.quiet:
                say(f"checkpoint: {ev.path}", file=sys.stderr)
            elif isinstance(ev, Stopped):
                bar.close()
                if world.main:
                    print(f"stopped at step {ev.step:,}; checkpoint saved to {ev.path}\nresume with the same command "
                          f"plus --resume {shlex.quote(str(ev.path))}", file=sys.stderr)
                return 130
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
        bar.close()
    if world.main:
        print(f"done: best validation loss {trainer.best_val:.4f} nats/{unit} ({trainer.best_val / LN2:.4f} bits); "
              f"model saved to {out}", file=sys.stderr)
    return 0
