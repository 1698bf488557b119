"""Voice labels for a piece that grows at its end (the app's streaming piano roll), without reading
the whole piece again at each batch.

VoiceStream runs guigen.music.voices.assign_voices's Viterbi over the onsets, but keeps the layers
of the onsets whose inputs can no longer change (the next onset lies in a complete step: the notes
struck there, the notes sounding and how long they sound together before the next onset are all
known), so an update runs only the onsets after them. Walking back, the survivors of the newest
layer share one ancestor somewhere: the labels before it are final and kept, and only the tail is
labelled again. crossed() (a voice claimed where the music crosses) is worked out again only over
the notes that overlap a note whose label or end may still change. The labels equal voice_labels's
for the same notes up to how ties between equal-cost voicings are broken (here: struck notes taken
top-down). No Qt.
"""

from __future__ import annotations

from bisect import bisect_left

from guigen.music.voices import PERMS, SOPRANO, START_PITCH, crossed, next_layer


class VoiceStream:
    """update(notes, complete) -> each note's voice (0-3, None where the voices cross), or None
    while the piece is not four-voice texture. notes: all the piece's notes so far, each known by
    (start, pitch); complete: steps known in full (None: the piece is whole)."""

    def __init__(self, melody=None):
        self.top = {n.key for n in melody} if melody else set()
        self.reset()

    def reset(self) -> None:
        """Forget everything (the piece was cut back: undo)."""
        self.layers: list[dict] = []  # per settled onset: state -> (cost, last pitch per voice, state before)
        self.sounding: list[list] = []  # per settled onset: the notes (start, pitch) sounding from it
        self.onsets: list[int] = []  # the settled onsets' steps
        self.fixed: dict = {}  # (start, pitch) -> voice: final, from the layers before `merged`
        self.merged = 0  # layers before this one lie on every survivor's path
        self.failed = False  # a settled onset is not four-voice texture
        self.now: tuple = ()  # the notes sounding at the last onset, with their voices
        self.labels: list = []  # per note: its voice, or None where crossed() leaves it without one
        self.region_index = 0  # labels before this note are final
        self.pmax: list[int] = []  # per final note: the latest end among it and the notes before it

    def update(self, notes, complete: int | None = None):
        """(first, labels): labels[k] the voice of notes[k], where only labels[first:] may differ
        from the last update's; None while the piece is not four-voice texture. notes: the piece's
        notes so far sorted by start (as the encodings decode them), only the tail changed since the
        last update (else reset() first)."""
        if self.failed:
            return None
        s0 = self.onsets[-1] + 1 if self.onsets else 0  # notes struck from here on are new to the layers
        lo = bisect_left(notes, s0, key=lambda n: n.start)
        by_id = {(n.start, n.pitch): n for n in notes[lo:]}
        for i in (self.sounding[-1] if self.sounding else ()):  # held from before: their ends may have grown
            by_id[i] = _find(notes, i)
        by_start: dict[int, list] = {}
        for n in notes[lo:]:
            by_start.setdefault(n.start, []).append((n.start, n.pitch))
        onsets = sorted(by_start)
        # an onset is settled once the next onset's step is complete (or the piece is whole)
        settled = len(onsets) if complete is None else sum(1 for k in range(len(onsets) - 1)
                                                           if onsets[k + 1] < complete)
        layer = self.layers[-1] if self.layers else {(): (0, tuple(START_PITCH), None)}
        sounding = list(self.sounding[-1]) if self.sounding else []
        tail: list[dict] = []
        for k, step in enumerate(onsets):
            until = onsets[k + 1] if k + 1 < len(onsets) else None
            out = self._layer(layer, sounding, sorted(by_start[step], key=lambda i: -i[1]), step, until, by_id)
            if out is None:  # more than four notes at once, or a melody of two lines: not four-voice
                self.failed = k < settled  # for good, where the notes there are final
                return None
            layer, sounding = out
            if k < settled:
                self.layers.append(layer)
                self.sounding.append(list(sounding))
                self.onsets.append(step)
            else:
                tail.append(layer)
        layers = self.layers + tail
        if not layers:
            return None
        voice = self._walk_back(layers)
        return self._uncross(notes, voice, complete)

    def _layer(self, layer, sounding, struck, step, until, by_id):
        """One onset of assign_voices's Viterbi: (the next layer, the notes sounding from it) or None."""
        sounding = [i for i in sounding if by_id[i].end > step]
        now = sounding + struck
        if len(now) > 4:
            return None
        top = self.top
        if sum(1 for i in struck if by_id[i].key in top) > 1:
            return None
        choices = PERMS[len(struck)]
        if top:
            choices = [c for c in choices if all((by_id[i].key in top) == (v == SOPRANO) for i, v in zip(struck, c))]

        def span(i, j):
            end = min(by_id[i].end, by_id[j].end)
            return (min(end, until) if until is not None else end) - step

        pitch = {i: i[1] for i in now}  # a note is known by (start, pitch)
        nxt = next_layer(layer, sounding, struck, choices, pitch, span)
        return (nxt, now) if nxt else None

    def _walk_back(self, layers) -> dict:
        """Voices along the best path, back to the layers already fixed. Once every state of the
        newest settled layer comes from one state of an earlier settled layer, the path up to there
        is final: its notes' voices go to `fixed` and later walks stop there."""
        last = layers[-1]
        state = min(last, key=lambda s: last[s][0])
        settled = len(self.layers)
        survivors = set(self.layers[-1]) if self.layers else set()
        self.now = state  # the notes sounding at the last onset, with their voices
        voice: dict = {}
        path = []  # (layer, state on the best path), newest first
        merge = None
        for j in range(len(layers) - 1, self.merged - 1, -1):
            path.append((j, state))
            for i, v in state:
                voice.setdefault(i, v)
            if j < settled:
                if merge is None and len(survivors) == 1:
                    merge = j
                survivors = {layers[j][s][2] for s in survivors}
            state = layers[j][state][2]
        if merge is not None:
            for j, st in path:
                if j <= merge:
                    for i, v in st:
                        self.fixed.setdefault(i, v)
            self.merged = merge + 1
        return voice

    def _uncross(self, notes, voice: dict, complete):
        """(first, labels): voice_labels's last part, crossed() notes shown without a voice, worked
        out again only from the first note whose voice or end may still change (and back over the
        notes sounding into it), the labels before that kept."""
        fixed = self.fixed
        # the notes of the layers not fixed yet, and those sounding at the last onset (their ends may grow)
        open_ids = [i for i in voice if i not in fixed] + [i for i, _ in self.now]
        open_from = min((i[0] for i in open_ids), default=notes[-1].start + 1 if notes else 0)
        k = bisect_left(notes, open_from, key=lambda n: n.start)
        pmax = self.pmax  # the latest end among notes[:m], for the final notes (before open_from)
        for n in notes[len(pmax):k]:
            pmax.append(max(pmax[-1], n.end) if pmax else n.end)
        region = open_from
        while k > 0 and pmax[k - 1] > region:  # a note before sounds into the region: it joins it
            region = notes[k - 1].start
            k = bisect_left(notes, region, key=lambda n: n.start)
        work = min(k, self.region_index, len(self.labels))
        part = notes[work:]
        labels = [voice.get((n.start, n.pitch), fixed.get((n.start, n.pitch))) for n in part]
        if any(v is None for v in labels):
            return None
        for x in crossed(part, labels):
            labels[x] = None
        del self.labels[work:]
        self.labels += labels
        self.region_index = k
        return work, self.labels


def _find(notes, i):
    """The note (start, pitch) = i among notes sorted by start."""
    k = bisect_left(notes, i[0], key=lambda n: n.start)
    while notes[k].pitch != i[1]:
        k += 1
    return notes[k]
