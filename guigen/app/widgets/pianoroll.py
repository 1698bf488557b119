"""The piano roll, as a DAW draws one: a keyboard strip, a ruler in bars and beats, the whole piece
to scroll and zoom over, a follow mode, voices in colours, labelled playhead and next-step markers.

The notes, each one's voice (soprano, alto, tenor, bass in four-voice texture: guigen.music.voices)
and the probability of the event that struck it come worked out with each batch from the generation
process (guigen.app.roll_feed), so the GUI thread only draws the notes that changed
(guigen.app.widgets.roll_model). Colouring by probability fills each generated note by that
probability. Colours come from the widget's palette, so the roll reads in light and dark themes alike.

Mouse: the wheel scrolls, Ctrl + wheel zooms; dragging the notes out drops a .mid file. Scrolling
away from the end leaves follow mode; scrolling back to the end (or the Follow button) re-enters it.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QMimeData, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDrag, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollBar, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from guigen.app.widgets.roll_colours import RollColours
from guigen.app.widgets.roll_keys import KeyboardAxis
from guigen.app.widgets.roll_legend import ProbabilityLegend
from guigen.app.widgets.roll_model import RollModel
from guigen.app.widgets.roll_notes import ONE_COLOUR, VOICE_COLOURS, VOICE_NAMES, Backdrop, prob_fill  # noqa: F401
from guigen.app.widgets.roll_ruler import RulerAxis, bar_beat, metre_steps  # noqa: F401 (tests import it here)
from guigen.app.widgets.roll_view import FOLLOW_MARGIN, RollView  # noqa: F401

DEFAULT_SPAN = 128  # steps shown at first: 8 bars of 4/4
MIN_REDRAW_S, MAX_REDRAW_S = 1 / 30, 0.25  # the piano roll redraws at most 30 times a second, at least 4


class PianoRoll(RollView, RollColours, RollModel, QWidget):
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
        self.time_signature = (4, 4)
        self.primer_steps = 0
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
        self._brushes: dict = {}  # QBrush per colour: notes share them
        self._own = False  # tokens came without their notes: the roll's own feed works them out (_feed_own)
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
        self.guide = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])  # set_guide's outlines
        self.view.addItem(self.guide)
        # the next-step label left of its line, or right of it where the left has no room (_place_now_label)
        # at the top, in the band _fit_pitches keeps over the highest note
        self.now = pg.InfiniteLine(angle=90, label="next step",
                                   labelOpts={"position": 1.0, "anchors": [(1, 0), (1, 0)]})
        self.playhead = pg.InfiniteLine(angle=90, label="playhead",  # in the same band, the next step's hidden
                                        labelOpts={"position": 1.0, "anchors": [(0, 0), (0, 0)]})
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
        self.view.sigResized.connect(lambda *_: self._fit_pitches())  # the label's band is in pixels

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
        self._clear_notes()
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
        self.top_line = None
        self._clear_notes()
        self._own = codec is not None  # the primer's notes: the roll works them out (a few at most)
        self.set_follow(True)
        self.set_play_from(0)
        self.set_loop(None)
        self._redraw()
        self.primer_changed.emit()

    def append_tokens(self, tokens, probs, notes=None) -> None:
        """Tokens and each one's probability (None: it has none); notes: the NotesUpdate the
        generation process worked out for them (guigen.app.roll_feed), else the roll works it out."""
        self.tokens.extend(int(t) for t in tokens)
        self.probs.extend(probs)
        if not self._own and self._fits(notes):
            self._feed = None  # the process's notes from here on (the same notes its own feed would give)
            self._take(notes)
        else:
            self._own = True
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

    def truncate(self, count: int, notes=None) -> None:
        """Back to `count` tokens (undo); notes: the process's NotesUpdate for what is left."""
        del self.tokens[count:], self.probs[count:]
        self._feed = None
        if notes is not None and notes.first == 0 and notes.ids == len(self.primer) + count \
                and notes.codec == repr(self.codec):
            self._own = False
            self._take(notes)
        else:
            self._own = True  # worked out again here, from the start
        self._redraw()

    def ids(self) -> list[int]:
        return self.primer + self.tokens

    def set_colour(self, on: bool) -> None:
        self.colour = on
        self._restyle()
        self._redraw()

    def set_step_colours(self, colours) -> None:
        """Fill each note by the colour (QColor) of the step it starts in, primer included: the Cells
        view's hook. None takes it off. Only the notes from the first step whose colour changed are
        drawn again (as the music streams in, the list grows at its end)."""
        old, self.step_colours = self.step_colours, colours
        if old is None or colours is None:
            self._restyle()
        else:
            same = next((k for k, (a, b) in enumerate(zip(old, colours)) if a != b), min(len(old), len(colours)))
            self._restyle(same)
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
        self._feed, self._own = None, True  # voices worked out again, the melody as the soprano
        self._redraw()

    def set_playhead(self, step: float | None) -> None:
        # one label in the band over the notes at a time: while it plays, the playhead's
        self.now.label.setVisible(step is None)
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
            self._place_now_label()

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
        if self._own:
            self._own = False
            self._feed_own()
        steps = self._steps
        self.now.setValue(steps)
        self.now.label.setFormat(f"next step {bar_beat(steps, self.time_signature)}")
        self._place_now_label()
        self.primer_text.setVisible(self.primer_steps > 0)
        num, den = self.time_signature
        self.position.setText(f"{bar_beat(steps, self.time_signature)} · {num}/{den}")
        self._update_legend()
        self._draw_notes()
        self._show_range()
        self._last_redraw = time.monotonic()
        self._redraw_cost = self._last_redraw - t0

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.voices is not None:
            self._update_legend()

    # -- palette ---------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            self._restyle()
            self._redraw()
        super().changeEvent(event)

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
