"""The data options of `guigen train music` and `guigen prepare music`, and the training data they ask for.

The options are read here, in the command line's layer; guigen.music.dataset takes plain values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from guigen.core.data import DataError
from guigen.music.dataset import music_data, parse_key, parse_transpose
from guigen.music.encodings import names


def _typed(parse):
    """An argparse type from a parser raising ValueError: its message becomes argparse's."""
    def typed(spec):
        try:
            return parse(spec)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    typed.__name__ = parse.__name__
    return typed


def add_arguments(p) -> None:
    """The data options of `guigen train music`."""
    p.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                   help="folders searched recursively for MIDI, ABC and MusicXML files (or such files; each tune of an "
                   "ABC file is a piece); `train music --data DIR` takes none")
    p.add_argument("--encoding", choices=names(), default="polyphony",
                   help="polyphony: all voices together (as Magenta's polyphony_rnn, the default); "
                   "melody: each voice as its own melody (as melody_rnn)")
    p.add_argument("--valid", nargs="+", type=Path, metavar="FOLDER",
                   help="validation folders or files (default: every 10th training file is held out)")
    p.add_argument("--transpose", type=_typed(parse_transpose), default=(0, 0), metavar="N|LOW:HIGH",
                   help="move each piece by a random number of semitones each epoch: 4 means -4..4 "
                   "(Magenta's polyphony setting); write a negative low end as --transpose=-3:5 (default 0)")
    p.add_argument("--min-pitch", type=int, default=48, help="melody: lowest MIDI pitch (default 48, C3)")
    p.add_argument("--max-pitch", type=int, default=83, help="melody: highest MIDI pitch (default 83, B5)")
    p.add_argument("--to-key", type=_typed(parse_key), default=None, metavar="KEY",
                   help="move every piece (or melody) to this major key, or its relative minor, before training, "
                   "as Magenta's melody_rnn does with C; generation moves the primer there and the result "
                   "back (default: keep each piece's own key)")


def from_args(args):
    """The training and validation data the options ask for (guigen.music.dataset.MusicData)."""
    name, init = getattr(args, "codec_from", None) or (None, None)  # set by `guigen train` (--init or --teacher)
    if init is not None:  # fine-tuning or distilling: the model's encoding, key and pitch range, whatever was typed
        codec = init.codec
        if args.encoding != codec.name and "--encoding" in getattr(args, "argv", []):
            raise DataError(f"{name} is a {codec.name} model; it can't be fine-tuned as {args.encoding}")
        if getattr(args, "conditions", False) and not getattr(codec, "metres", ()):  # conditions added to it
            return music_data(args.folders, codec.name, args.valid, args.transpose, codec.min_pitch, codec.max_pitch,
                              key=codec.key, conditions=True)
        return music_data(args.folders, codec.name, args.valid, args.transpose, codec.min_pitch, codec.max_pitch,
                          key=codec.key, fixed_codec=codec)
    return music_data(args.folders, args.encoding, args.valid, args.transpose, args.min_pitch, args.max_pitch,
                      key=args.to_key, conditions=getattr(args, "conditions", False))
