"""The piano roll, as a DAW draws one: a keyboard strip, a ruler in bars and beats, the whole piece
to scroll and zoom over, a follow mode, voices in colours, labelled playhead and next-step markers.

Notes are decoded from all the ids so far (primer + generated) by the model's encoding and drawn
as one BarGraphItem updated in place. In four-voice texture each note gets its voice (soprano,
alto, tenor, bass: guigen.music.voices); colouring by probability fills each generated note by the
probability of the event that struck it, its outline keeping the voice's colour. Colours come
from the widget's palette, so the roll reads in light and dark themes alike.

Mouse: the wheel scrolls, Ctrl + wheel zooms; dragging the notes out drops a .mid file. Scrolling
away from the end leaves follow mode; scrolling back to the end (or the Follow button) re-enters it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QMimeData, QPointF, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDrag, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QScrollBar, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from guigen.app.theme import is_dark, readable
from guigen.app.widgets.roll_keys import BLACK_KEYS, KEYS_WIDTH, KeyboardAxis  # noqa: F401 (tests import them here)
from guigen.app.widgets.roll_legend import ProbabilityLegend
from guigen.app.widgets.roll_notes import (ONE_COLOUR, VOICE_COLOURS, VOICE_NAMES, Backdrop, prob_fill,  # noqa: F401
                                           prob_position)
from guigen.app.widgets.roll_ruler import RulerAxis, bar_beat, metre_steps
from guigen.music.events import NOTE_NAMES, pitch_name
from guigen.music.incremental import StreamDecoder

DEFAULT_SPAN = 128  # steps shown at first: 8 bars of 4/4
MIN_SPAN, MAX_SPAN = 16, 100_000
FOLLOW_MARGIN = 8  # steps kept free right of the next-step marker in follow mode
MIN_REDRAW_S, MAX_REDRAW_S = 1 / 30, 0.25  # the piano roll redraws at most 30 times a second, at least 4
VOICES_S = 0.5  # while music streams in, voices are assigned anew at most this often (it reads it all)


class PianoRoll(QWidget):
    """make_midi, when set, is called to write a .mid for dragging out; returns its path."""

    drag_started = Signal()
    primer_changed = Signal()  # reset() was called: a new primer (and maybe a new metre)
    follow_changed = Signal(bool)
    key_clicked = Signal(int)  # a key of the keyboard strip was clicked: its pitch (to audition)
    play_from_changed = Signal(int)  # the step playback starts from (a click on the ruler or the notes)
    loop_changed = Signal(object)  # (first step, end step) of the loop dragged on the ruler, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.codec = None
        self.primer: list[int] = []
        self.tokens: list[int] = []
        self.probs: list[float] = []
        self.colour = False
        self.step_colours = None  # the Cells view's: a fill per step, over the other colourings
        self.top_line = None  # a harmonised melody: always the soprano in the voice colours (set_top_line)
        self._notes = []  # the notes, voices and steps as last drawn (see the properties below)
        self._voices_now: list[int] | None = None  # per note: 0-3 (soprano-bass), None when not four-voice
        self.time_signature = (4, 4)
        self.primer_steps = 0
        self._steps = 0  # steps so far: the next step's index
        self._dirty = False  # tokens came in that are not drawn yet (see _schedule)
        self._redraw_cost = 0.0  # seconds the last redraw took
        self._last_redraw = 0.0
        self.paced = False  # the window's display clock paces redraws (set_paced)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._flush)
        self.span = DEFAULT_SPAN  # steps visible
        self.follow = True
        self.make_midi = None
        self._press = None
        self._scrolling = False  # the scroll bar is being set by the program, not the user
        self._pitch_range = None
        self._voice_cache: tuple | None = None  # (when, {(start, pitch): voice} or None): see _voices
        self._voice_cost = 0.0  # seconds the last full voice pass took
        self._voice_timer = QTimer(self)  # the full voice pass after provisional voices
        self._voice_timer.setSingleShot(True)
        self._voice_timer.setInterval(int(VOICES_S * 1000))
        self._voice_timer.timeout.connect(self._exact_voices)
        self._brushes: dict = {}  # QBrush per colour: notes share them
        self._decoder = None  # StreamDecoder: decodes only what came after the last clean cut
        self._probs_cache = None  # (probabilities by (step, pitch), step, tokens read): see _event_probs
        self._drawn_range = None  # the steps whose notes the plot holds
        self.drawn: list[int] = []  # indices (into notes) of the notes the plot holds
        self.setAccessibleName("Piano roll")
        self.setAccessibleDescription("Notes over time: a keyboard on the left, bars and beats on top")

        self.ruler = RulerAxis()
        self.keys = KeyboardAxis()
        self.plot = pg.PlotWidget(axisItems={"top": self.ruler, "left": self.keys})
        pi = self.plot.getPlotItem()
        pi.showAxis("top")
        pi.hideAxis("bottom")
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.layout.setContentsMargins(0, 0, 4, 0)
        self.view = pi.getViewBox()
        self.view.setMouseEnabled(x=False, y=False)  # the wheel and drags are ours (see roll_mouse)
        self.view.setDefaultPadding(0)
        self.backdrop = Backdrop(self)
        self.view.addItem(self.backdrop, ignoreBounds=True)
        self.bars = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])
        self.view.addItem(self.bars)
        self.guide = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])  # set_guide's outlines
        self.view.addItem(self.guide)
        # the next-step label left of its line, or right of it where the left has no room (_place_now_label)
        self.now = pg.InfiniteLine(angle=90, label="next step",
                                   labelOpts={"position": 0.97, "anchors": [(1, 0), (1, 0)]})
        self.playhead = pg.InfiniteLine(angle=90, label="playhead",
                                        labelOpts={"position": 0.8, "anchors": [(0, 0), (0, 0)]})
        self.playhead.hide()
        self.view.addItem(self.now, ignoreBounds=True)
        self.view.addItem(self.playhead, ignoreBounds=True)
        self.primer_text = pg.TextItem("primer", anchor=(-0.08, 1))  # clear of the keyboard's edge
        self.view.addItem(self.primer_text, ignoreBounds=True)
        self.play_from = 0  # the step Play starts at
        self.loop: tuple[int, int] | None = None  # the steps Play loops over
        self.hover_text = ""  # what the pointer is over says (a note: name, voice, bar.beat, probability)
        self.start_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 158, 115), width=2, style=Qt.PenStyle.DashLine))
        self.start_line.hide()
        self.view.addItem(self.start_line, ignoreBounds=True)
        self.loop_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(0, 158, 115, 40))
        self.loop_region.hide()
        self.view.addItem(self.loop_region, ignoreBounds=True)
        from guigen.app.widgets.roll_mouse import RollMouse

        self.mouse = RollMouse(self)
        self.plot.viewport().installEventFilter(self.mouse)
        self.plot.viewport().setMouseTracking(True)
        self.plot.viewport().setToolTip("")
        self.view.sigXRangeChanged.connect(lambda *_: self._sync_scrollbar())
        self.view.sigXRangeChanged.connect(lambda *_: self._place_now_label())
        self.view.sigResized.connect(self._place_now_label)

        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal)
        self.scrollbar.setToolTip("Scroll over the whole piece; back at the end, the roll follows the music again")
        self.scrollbar.valueChanged.connect(self._scrolled)

        # the bar above the roll: view controls and the legend
        self.follow_button = self._tool("Follow", "Keep the newest notes in view (scrolling away turns this off)",
                                        checkable=True)
        self.follow_button.setChecked(True)
        self.follow_button.toggled.connect(self.set_follow)
        zoom_out = self._tool("−", "Zoom out (Ctrl + wheel)")
        zoom_out.clicked.connect(lambda: self.zoom(1.5))
        zoom_in = self._tool("+", "Zoom in (Ctrl + wheel)")
        zoom_in.clicked.connect(lambda: self.zoom(1 / 1.5))
        fit = self._tool("All", "Show the whole piece")
        fit.clicked.connect(self.show_all)
        self.position = QLabel()
        self.position.setToolTip("Bar.beat of the next step, and the time signature")
        self.voice_legend = QLabel()
        self.voice_legend.setTextFormat(Qt.TextFormat.RichText)
        self.prob_legend = ProbabilityLegend()
        self.prob_legend.hide()
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.setSpacing(4)
        for w in (self.follow_button, zoom_out, zoom_in, fit):
            top.addWidget(w)
        top.addSpacing(6)
        top.addWidget(self.position)
        top.addWidget(self.voice_legend, 1)
        top.addWidget(self.prob_legend)
        self.voice_legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.voice_legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.scrollbar)
        self.colours: dict = {}
        self._apply_palette()
        self._show_range()

    def sizeHint(self) -> QSize:
        return QSize(640, 400)  # the music is the main thing to see: ask the splitter for room

    def _tool(self, text: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setAutoRaise(True)
        return b

    # -- content ------------------------------------------------------------------------------
    def reset(self, codec, primer=(), time_signature=(4, 4)) -> None:
        self.codec, self.primer = codec, [int(t) for t in primer]
        self.tokens, self.probs = [], []
        self.time_signature = tuple(time_signature)
        self.ruler.time_signature = self.time_signature
        self.primer_steps = codec.count_steps(self.primer) if (codec is not None and self.primer) else 0
        self._pitch_range = None
        self._voice_cache = None
        self._decoder = StreamDecoder(codec) if codec is not None else None
        self._probs_cache = None
        self.top_line = None
        self.set_follow(True)
        self.set_play_from(0)
        self.set_loop(None)
        self._redraw()
        self.primer_changed.emit()

    def append_tokens(self, tokens, probs) -> None:
        self.tokens.extend(int(t) for t in tokens)
        self.probs.extend(probs)
        self._schedule()

    # what was drawn; reading it draws what came in since, so it is never behind the tokens
    @property
    def notes(self) -> list:
        self._flush()
        return self._notes

    @property
    def steps(self) -> int:
        self._flush()
        return self._steps

    @property
    def drawn_steps(self) -> int:
        """Steps as last drawn (reading it draws nothing: for labels updated as tokens stream in)."""
        return self._steps

    @property
    def voices(self) -> list[int] | None:
        self._flush()
        return self._voices_now

    def set_paced(self, on: bool) -> None:
        """On: the window's display clock calls pace() and the roll does not time itself (while
        streaming). Off: what came in meanwhile is drawn now."""
        self.paced = on
        if not on:
            self._flush()

    def pace(self) -> bool:
        """A frame of the window's display clock: redraw if tokens came in, keeping drawing a long
        piece to about a third of the GUI thread's time. Whether it redrew."""
        if self._dirty and time.monotonic() - self._last_redraw >= 3 * self._redraw_cost:
            self._redraw()
            return True
        return False

    def _schedule(self) -> None:
        """Redraw now, or (when redrawing costs much of a frame) a little later, so that drawing a long
        piece takes at most about a third of the GUI thread's time; tokens coming in meanwhile join."""
        self._dirty = True
        if self.paced:
            return
        wait = max(MIN_REDRAW_S, 3 * self._redraw_cost) - (time.monotonic() - self._last_redraw)
        if wait <= 0:
            self._flush()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start(int(min(wait, MAX_REDRAW_S) * 1000))

    def _redraw_soon(self) -> None:
        """Redraw now, or at the display clock's next turn while it paces the roll."""
        if self.paced:
            self._dirty = True
        else:
            self._redraw()

    def _flush(self) -> None:
        if self._dirty:
            self._redraw()

    def truncate(self, count: int) -> None:
        del self.tokens[count:], self.probs[count:]
        self._voice_cache = self._probs_cache = None
        if self._decoder is not None:
            self._decoder.reset()
        self._redraw()

    def ids(self) -> list[int]:
        return self.primer + self.tokens

    def set_colour(self, on: bool) -> None:
        self.colour = on
        self._redraw()

    def set_step_colours(self, colours) -> None:
        """Fill each note by the colour (QColor) of the step it starts in, primer included: the Cells
        view's hook. None takes it off."""
        self.step_colours = colours
        self._redraw_soon()

    def set_guide(self, notes) -> None:
        """Outline notes fixed ahead of the music (the melody being harmonised, guigen.app.harmonize);
        [] takes them off."""
        pen = pg.mkPen(self.palette().color(QPalette.ColorRole.Text), width=1.5, style=Qt.PenStyle.DashLine)
        notes = list(notes)
        self.guide.setOpts(x0=[n.start for n in notes], y0=[n.pitch - 0.42 for n in notes],
                           width=[n.end - n.start for n in notes], height=[0.84] * len(notes), pen=pen, brush=None)
        self.guide_pitches = [n.pitch for n in notes]  # in view from the start (see _fit_pitches)
        self._show_range()

    def set_top_line(self, notes) -> None:
        """The melody a finished harmonisation was written under: coloured as the soprano."""
        self.top_line = list(notes) or None
        self._voice_cache = None
        self._redraw()

    def set_playhead(self, step: float | None) -> None:
        if step is None:
            self.playhead.hide()
        else:
            self.playhead.setValue(step)
            self.playhead.label.setFormat(f"playhead {bar_beat(step, self.time_signature)}")
            self.playhead.show()
            x0, x1 = self.view_range()
            if not x0 <= step <= x1 - (x1 - x0) * 0.05:  # the view follows the playhead a page at a time
                if self.follow:
                    self.set_follow(False)
                self._show_range(max(0.0, step - (x1 - x0) * 0.05))

    def set_play_from(self, step: int) -> None:
        """Where Play starts (0: the beginning), marked by a dashed line."""
        self.play_from = max(0, int(step))
        self.start_line.setValue(self.play_from)
        self.start_line.setVisible(self.play_from > 0)
        self.play_from_changed.emit(self.play_from)

    def set_loop(self, steps) -> None:
        """Loop Play over steps [a, b) (a region dragged on the ruler), or None for no loop."""
        self.loop = (int(steps[0]), int(steps[1])) if steps else None
        if self.loop:
            self.loop_region.setRegion(self.loop)
        self.loop_region.setVisible(self.loop is not None)
        self.loop_changed.emit(self.loop)

    def _redraw(self) -> None:
        self._dirty = False
        self._redraw_timer.stop()
        if self.codec is None:
            return
        t0 = time.monotonic()
        ids = self.ids()
        self._notes = self._decoder.decode(ids) if ids else []
        self._steps = self.codec.count_steps(ids) if ids else 0
        self.now.setValue(self.steps)
        self.now.label.setFormat(f"next step {bar_beat(self.steps, self.time_signature)}")
        self._place_now_label()
        self._voices_now = self._voices()
        self._drawn_range = None  # the bars are set anew for the steps in view (see _draw_bars)
        self.primer_text.setVisible(self.primer_steps > 0)
        num, den = self.time_signature
        self.position.setText(f"{bar_beat(self.steps, self.time_signature)} · {num}/{den}")
        self._update_legend()
        self._show_range()
        self._last_redraw = time.monotonic()
        self._redraw_cost = self._last_redraw - t0

    def _voices(self) -> list[int] | None:
        """Soprano-bass per note for polyphony in four-voice texture (guigen.music.voices.voice_labels:
        None for a note where the voices cross); else None.

        Labelling reads the whole piece, so while it grows it is redone at most every VOICES_S (or
        ten times what it took, for a long piece); a note struck since gets its rank from the top
        among the notes sounding with it (the rule in four-voice texture) until the next full pass,
        which a timer makes sure comes."""
        if getattr(self.codec, "name", "") != "polyphony" or not self.notes:
            return None
        from guigen.music.voices import voice_labels

        now = time.monotonic()
        if self._voice_cache is None or now - self._voice_cache[0] >= max(VOICES_S, 10 * self._voice_cost):
            voices = voice_labels(self.notes, self.top_line)
            self._voice_cost = time.monotonic() - now
            known = None if voices is None else {(n.start, n.pitch): v for n, v in zip(self.notes, voices)}
            self._voice_cache = (now, known)
            return voices
        known = self._voice_cache[1]
        if known is None:
            return None
        out, tail = [], self.notes[-64:]
        for n in self.notes:
            key = (n.start, n.pitch)
            if key in known:
                out.append(known[key])
                continue
            above = sum(1 for m in tail if m.start <= n.start < m.end and m.pitch > n.pitch)
            out.append(min(above, 3))
            self._voice_timer.start()
        return out

    def _exact_voices(self) -> None:
        self._voice_cache = None
        self._redraw_soon()

    def _brush(self, colour: QColor):
        key = colour.rgba()
        brush = self._brushes.get(key)
        if brush is None:
            brush = self._brushes[key] = pg.mkBrush(colour)
        return brush

    def _draw_bars(self) -> None:
        """The notes in and near the view go to the plot, not the whole piece: a frame costs what shows."""
        x0, x1 = self.view_range()
        if self._drawn_range is not None and self._drawn_range[0] <= x0 and x1 <= self._drawn_range[1]:
            return
        lo, hi = x0 - (x1 - x0), x1 + (x1 - x0)
        self._drawn_range = (lo, hi)
        self.drawn = [i for i, n in enumerate(self.notes) if n.end > lo and n.start < hi]
        if not self.drawn:
            self.bars.setOpts(x0=[], y0=[], width=[], height=[], brushes=None, pens=None)
            return
        notes = [self.notes[i] for i in self.drawn]
        start = np.array([n.start for n in notes], dtype=float)
        end = np.array([n.end for n in notes], dtype=float)
        pitch = np.array([n.pitch for n in notes], dtype=float)
        brushes, pens = self._styles(self.drawn)
        self.bars.setOpts(x0=start, y0=pitch - 0.42, width=end - start, height=np.full(len(pitch), 0.84),
                          brushes=brushes, pens=pens)

    def _styles(self, drawn: list[int]):
        """(brushes, pens) per note: one colour means one thing at a time. Normally the voice's
        colour; colouring by probability, the probability of the event that struck the note (notes
        are a few pixels high, too small to show both). Primer notes are paler."""
        c = self.colours
        starts = self.event_probs() if self.colour else {}
        outline = pg.mkPen(c["outline"], width=1)
        brushes, voices = [], self._voices_now
        for i in drawn:
            n = self.notes[i]
            if self.step_colours is not None and n.start < len(self.step_colours):
                fill = QColor(self.step_colours[n.start])
            elif self.colour:
                p = starts.get((n.start, n.pitch))
                fill = prob_fill(p) if p is not None else QColor(c["primer_note"])
            else:
                v = voices[i] if voices is not None else None
                fill = QColor(c["voices"][v] if v is not None else (c["unclear"] if voices is not None else c["one"]))
            if n.start < self.primer_steps and self.step_colours is None:
                fill.setAlpha(120)
            brushes.append(self._brush(fill))
        return brushes, [outline] * len(drawn)

    def event_probs(self) -> dict:
        """(step, pitch) -> probability of the generated event that named that pitch at that step.
        Kept between frames: only the tokens added since are read."""
        if self._probs_cache is None:
            self._probs_cache = ({}, self.primer_steps, 0)
        out, step, done = self._probs_cache
        label = self.codec.token_label
        for t, p in zip(self.tokens[done:], self.probs[done:]):
            name = label(t)
            if name and name[0] in "ABCDEFG" and not name.endswith("held"):
                pitch_class = NOTE_NAMES.index(name[:2] if len(name) > 1 and name[1] == "#" else name[0])
                octave = int(name.lstrip("ABCDEFG#").split()[0])
                out[(step, (octave + 1) * 12 + pitch_class)] = p
            if self.codec.ends_step(t):
                step += 1
        self._probs_cache = (out, step, len(self.tokens))
        return out

    def _update_legend(self) -> None:
        c = self.colours
        text = c["text"].name()
        poly = getattr(self.codec, "name", "") == "polyphony"
        if self.voices is not None or (poly and not self.notes):  # initials when narrow (the tooltip names them)
            short = self.width() < 640
            items = [(c["voices"][i], name[0] if short else name) for i, name in enumerate(VOICE_NAMES)]
            if self.voices is not None and None in self.voices:  # notes where the voices cross
                items.append((c["unclear"], "?" if short else "voices cross"))
        elif poly:
            items = [(c["one"], "notes (more than four voices)")]
        else:
            items = [(c["one"], "melody")]
        chips = "&nbsp;&nbsp;".join(f"<span style='color:{col.name()}'>&#9632;</span>&nbsp;{name}"
                                    for col, name in items)
        self.voice_legend.setText(f"<span style='color:{text}'>{chips}</span>")
        self.voice_legend.setToolTip("Voice colours (soprano, alto, tenor, bass in four-voice texture). "
                                     "The primer is shaded; its notes are paler.")
        cells = self.step_colours is not None  # the Cells view's colours: its own legend explains them
        self.voice_legend.setVisible(not self.colour and not cells)
        self.prob_legend.setVisible(self.colour and not cells)

    # -- view: scroll, zoom, follow -----------------------------------------------------------
    def total_steps(self) -> int:
        """Steps the scroll bar covers: the piece, its notes' ends and the next step included."""
        return max(self.steps, max((n.end for n in self.notes), default=0))

    def _place_now_label(self) -> None:
        """The next-step label left of its line (in follow mode the line is near the right edge), or
        right of it when there is no room on the left: it is never cut by the view's edge."""
        x0, x1 = self.view_range()
        width = self.view.width()
        if x1 <= x0 or width <= 0:
            return
        room = (self.now.value() - x0) / (x1 - x0) * width  # pixels left of the line
        side = [(1, 0), (1, 0)] if room >= self.now.label.boundingRect().width() + 4 else [(0, 0), (0, 0)]
        if side != self.now.label.anchors:
            self.now.label.anchors = side
            self.now.label.updatePosition()

    def view_range(self) -> tuple[float, float]:
        return tuple(self.view.viewRange()[0])

    def set_follow(self, on: bool) -> None:
        on = bool(on)
        changed = on != self.follow
        self.follow = on
        if self.follow_button.isChecked() != on:
            self.follow_button.setChecked(on)
        if on:
            self._show_range()
        if changed:
            self.follow_changed.emit(on)

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Show `factor` times as many steps, keeping `anchor` (a step; default the middle) in place."""
        x0, x1 = self.view_range()
        anchor = (x0 + x1) / 2 if anchor is None else anchor
        span = min(max(self.span * factor, MIN_SPAN), MAX_SPAN)
        left = anchor - (anchor - x0) * span / max(x1 - x0, 1e-9)
        self.span = span
        self._show_range(None if self.follow else left)

    def show_all(self) -> None:
        self.span = min(max(self.total_steps() + FOLLOW_MARGIN, MIN_SPAN), MAX_SPAN)
        self._show_range(-self.lead())

    def scroll_to(self, left: float) -> None:
        """Show from step `left` on (as the user scrolling): leaves follow mode unless at the end."""
        self.set_follow(False)
        self._show_range(left)
        if self._at_end():
            self.set_follow(True)

    def _at_end(self) -> bool:
        return self.scrollbar.value() >= self.scrollbar.maximum()

    def lead(self) -> float:
        """Steps shown left of step 0 when the view is at the start (about 8 px)."""
        return self.span * 8 / max(self.view.width(), 100)

    def _show_range(self, left: float | None = None) -> None:
        """Set the visible steps: the end in follow mode, else from `left` (default: where it is)."""
        end = self.total_steps() + FOLLOW_MARGIN
        if self.follow:
            left = end - self.span
        elif left is None:
            left = self.view_range()[0]
        # at the start, a margin left of bar 1: its line, number and the primer mark stand clear of the keys
        lead = self.lead()
        left = min(max(-lead, left), end - self.span if end - self.span > 0 else -lead)
        self.view.setXRange(left, left + self.span, padding=0)
        self._fit_pitches()
        self._sync_scrollbar()
        self._draw_bars()

    def _fit_pitches(self) -> None:
        """All the piece's pitches in view (an octave at least), so nothing is ever hidden vertically."""
        pitches = [n.pitch for n in self.notes] + getattr(self, "guide_pitches", [])
        if pitches:
            low, high = min(pitches), max(pitches)
        else:
            low, high = 60, 72
        if self._pitch_range is not None and self._pitch_range[0] <= low and high <= self._pitch_range[1]:
            return
        mid, half = (low + high) / 2, max((high - low) / 2 + 2.5, 7.5)
        self._pitch_range = (low, high)
        self.view.setYRange(mid - half, mid + half, padding=0)
        self.primer_text.setPos(0, mid - half)

    def _sync_scrollbar(self) -> None:
        x0, x1 = self.view_range()
        span = max(1, int(round(x1 - x0)))
        end = self.total_steps() + FOLLOW_MARGIN
        self._scrolling = True
        self.scrollbar.setRange(0, max(0, end - span))
        self.scrollbar.setPageStep(span)
        self.scrollbar.setSingleStep(max(1, span // 16))
        self.scrollbar.setValue(int(round(x0)))
        self._scrolling = False

    def _scrolled(self, value: int) -> None:
        if not self._scrolling:
            self.scroll_to(value)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.voices is not None:
            self._update_legend()

    # -- palette ---------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            self._redraw()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        dark = is_dark(pal)

        def pen(colour, alpha, width=1):
            c = QColor(colour)
            c.setAlpha(alpha)
            p = QPen(c, width)
            p.setCosmetic(True)
            return p

        shade = QColor(text)
        shade.setAlpha(18 if dark else 12)
        primer = QColor(text)
        primer.setAlpha(28 if dark else 20)
        voices = [QColor(v).lighter(125) if dark else QColor(v) for v in VOICE_COLOURS]
        self.colours = {
            "text": text,
            "voices": voices,
            "one": QColor(86, 180, 233) if dark else ONE_COLOUR,
            "primer_note": QColor(150, 150, 150),
            "unclear": QColor(150, 150, 150),  # a note where the voices cross: no voice claimed
            "outline": QColor(0, 0, 0, 150) if not dark else QColor(255, 255, 255, 110),
            "black_row": shade,
            "primer": primer,
            "beat_pen": pen(text, 40 if dark else 35),
            "bar_pen": pen(text, 110 if dark else 100),
            "octave_pen": pen(text, 45 if dark else 30),
        }
        self.plot.setBackground(base)
        self.ruler.text = text
        self.ruler.update()
        now = readable(QColor(230, 120, 20), base)
        head = readable(QColor(220, 40, 40), base)
        for line, colour in ((self.now, now), (self.playhead, head)):
            line.setPen(pg.mkPen(colour, width=2))
            line.label.setColor(colour)
            line.label.fill = pg.mkBrush(base)
        self.primer_text.setColor(readable(text, base))

    def drag_out(self) -> None:
        if self.make_midi is None or not self.notes:
            return
        path = self.make_midi()
        if path:
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(path))])
            drag = QDrag(self)
            drag.setMimeData(mime)
            self.drag_started.emit()
            drag.exec(Qt.DropAction.CopyAction)
