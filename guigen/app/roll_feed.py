"""The piano roll's notes worked out from a growing stream of ids, a batch at a time: decoded
(guigen.music.incremental: only what follows the last clean cut), each note's voice
(guigen.music.voice_stream: only the tail, where labels can still change) and the probability of
the event that struck it. The generation process runs one for the sample it streams and sends each
batch's NotesUpdate with it, so the window's GUI thread only moves the notes that changed
(guigen.app.widgets.pianoroll); the roll runs one itself for music that reaches it otherwise (a
harmonisation, a variation or take opened). No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from guigen.music.events import NOTE_NAMES
from guigen.music.incremental import StreamDecoder


@dataclass
class NotesUpdate:
    """The roll's notes from index `first` on, after `ids` ids (primer included): the notes
    before `first` are as they were."""

    first: int
    notes: list  # Notes, sorted as the codec decodes them
    voices: list | None  # per note: 0-3 (soprano-bass), None where the voices cross; None: not four-voice
    probs: list  # per note: the probability of the generated event that struck it, or None
    steps: int  # steps so far (the next step's index)
    ids: int
    codec: str = ""  # repr of the codec that decoded them (a key-shifted view decodes other pitches)


class RollFeed:
    def __init__(self, codec, primer=(), top_line=None):
        self.codec = codec
        self.poly = getattr(codec, "name", "") == "polyphony"
        self.primer = [int(t) for t in primer]
        self.top_line = list(top_line) if top_line else None
        self.reset()

    def reset(self) -> None:
        self.ids = list(self.primer)
        self.decoder = StreamDecoder(self.codec)
        self.voice_stream = None
        if self.poly:
            from guigen.music.voice_stream import VoiceStream

            self.voice_stream = VoiceStream(self.top_line)
        self.notes: list = []
        self.voices: list | None = None
        self.probs: list = []
        self.primer_steps = self.codec.count_steps(self.primer) if self.primer else 0
        self.steps = self.primer_steps
        self.complete = sum(1 for t in self.primer if self.codec.ends_step(t)) if self.poly else 0
        self.events: dict = {}  # (step, pitch) -> probability of the generated event that struck it

    def extend(self, tokens, probs) -> NotesUpdate:
        """Take a batch of generated tokens (and each one's probability; None where it has none)."""
        codec, step = self.codec, self.steps
        ends = codec.ends_step
        label = codec.token_label
        for t, p in zip(tokens, probs):
            t = int(t)
            self.ids.append(t)
            if p is not None:
                pitch = _struck(label(t))
                if pitch is not None:
                    self.events[(step, pitch)] = p
            if ends(t):
                step += 1
                self.complete += 1
        self.steps = step
        return self._update()

    def truncate(self, count: int) -> NotesUpdate:
        """Back to `count` generated tokens (undo): decoded again from the start."""
        ids, events = self.ids[len(self.primer):len(self.primer) + count], self.events
        self.reset()
        self.ids += ids
        self.steps = self.codec.count_steps(self.ids)
        self.complete = sum(1 for t in self.ids if self.codec.ends_step(t))
        self.events = {k: v for k, v in events.items() if k[0] <= self.steps}
        return self._update(0)

    def set_top_line(self, melody) -> NotesUpdate:
        """A harmonised melody: always the soprano. The voices are worked out again."""
        self.top_line = list(melody) if melody else None
        if self.poly:
            from guigen.music.voice_stream import VoiceStream

            self.voice_stream = VoiceStream(self.top_line)
        return self._update(0)

    def _update(self, first: int | None = None) -> NotesUpdate:
        old = self.notes
        head = len(self.decoder.head)  # the notes before the decoder's cut never change
        notes = self.decoder.decode(self.ids) if self.ids else []
        lo = min(head, len(old), len(notes)) if first is None else first
        while lo < min(len(old), len(notes)) and old[lo] == notes[lo]:
            lo += 1
        voices = None
        if self.voice_stream is not None and notes:
            out = self.voice_stream.update(notes, self.complete)
            if out is not None:
                voices = out[1]  # the stream's own list: only voices[out[0]:] changed
                lo = min(lo, out[0]) if self.voices is not None else 0
        if voices is None and self.voices is not None:
            lo = 0  # no longer four-voice texture: every note's colour changes
        self.voices = voices
        primer_steps = self.primer_steps
        del self.probs[lo:]
        self.probs += [None if n.start < primer_steps else self.events.get((n.start, n.pitch)) for n in notes[lo:]]
        self.notes = notes
        return NotesUpdate(lo, notes[lo:], voices[lo:] if voices is not None else None, self.probs[lo:],
                           self.steps, len(self.ids), repr(self.codec))


def _struck(name: str) -> int | None:
    """The MIDI pitch a token label names when its event strikes a note ('E4'; not 'E4 held')."""
    if not name or name[0] not in "ABCDEFG" or name.endswith("held"):
        return None
    pitch_class = NOTE_NAMES.index(name[:2] if len(name) > 1 and name[1] == "#" else name[0])
    try:
        octave = int(name.lstrip("ABCDEFG#").split()[0])
    except (ValueError, IndexError):
        return None
    return (octave + 1) * 12 + pitch_class
