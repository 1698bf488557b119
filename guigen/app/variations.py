"""Variations, as Magenta Studio's Continue: N continuations of the same primer made at once (one
batch through the Generator, in the worker thread), shown side by side in a strip of cards.

Each card is named model-T-seed-vN, shows a small piano roll (music) or the text, and can be
played, exported, dragged out as a .mid or .txt file, or chosen: the chosen one becomes the
sample in the main view, and Generate (Resume) continues from its end.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QPointF, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDrag, QFont, QFontDatabase, QPainter, QPalette, QPen, QTextCursor
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QScrollArea, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from guigen.app.theme import is_dark, readable
from guigen.app.widgets.pianoroll import ONE_COLOUR, VOICE_COLOURS

MAX_VARIATIONS = 16
CARD_WIDTH = 190
TEXT_CARD_WIDTH = 250


@dataclass
class Variation:
    name: str  # model-T0.8-seed3-v2
    tokens: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)


@dataclass
class VariationSet:
    """One run: the primer (as fed, and as shown), the codec that decodes it, and its variations."""

    model: str
    kind: str  # "text" or "music"
    codec: object
    primer: list[int]
    primer_text: str  # text models: the primer as typed
    source: object  # music: the MIDI file primer's NoteSequence, or None
    temperature: float
    seed: int
    items: list[Variation]
    job: object = None  # the VariationsJob sent to the worker: its batches are this run's
    done: bool = False
    steps: int | None = None  # music: each variation is cut at this many 16th-note steps (the Length in bars)


def variation_names(model: str, temperature: float, seed: int, count: int) -> list[str]:
    """model-T0.8-seed3-v1 ... -vN: the export naming (model, temperature, seed) and the row."""
    return [f"{model}-T{temperature:g}-seed{seed}-v{i}" for i in range(1, count + 1)]


# -- a small piano roll for a card ------------------------------------------------------------------
class MiniRoll(QWidget):
    """The notes of one variation, drawn to fit; the primer shaded; a playhead while it plays."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.notes, self.voices, self.primer_steps, self.total = [], None, 0, 0
        self.playhead: float | None = None
        self.setMinimumHeight(56)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Variation piano roll")

    def set_notes(self, notes, primer_steps: int, voices=None) -> None:
        self.notes, self.primer_steps, self.voices = notes, primer_steps, voices
        self.total = max((n.end for n in notes), default=0)
        self.update()

    def set_playhead(self, step: float | None) -> None:
        self.playhead = step
        self.update()

    def paintEvent(self, _):
        p = QPainter(self)
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        p.fillRect(self.rect(), base)
        if not self.notes:
            return
        low = min(n.pitch for n in self.notes) - 1
        high = max(n.pitch for n in self.notes) + 1
        w, h = self.width(), self.height()
        sx, sy = w / max(self.total, 1), h / max(high - low + 1, 1)
        shade = QColor(text)
        shade.setAlpha(22)
        if self.primer_steps:
            p.fillRect(QRectF(0, 0, self.primer_steps * sx, h), shade)
        dark = is_dark(pal)
        colours = [QColor(c).lighter(125) if dark else QColor(c) for c in VOICE_COLOURS]
        one = QColor(86, 180, 233) if dark else ONE_COLOUR
        for i, n in enumerate(self.notes):
            v = self.voices[i] if self.voices is not None else None
            c = colours[v] if v is not None else one  # no voice: the voices cross there (voice_labels)
            y = (high - n.pitch) * sy
            p.fillRect(QRectF(n.start * sx, y, max((n.end - n.start) * sx, 1.0), max(sy * 0.85, 1.5)), c)
        if self.playhead is not None:
            pen = QPen(readable(QColor(220, 40, 40), base, 3.0), 2)
            p.setPen(pen)
            x = self.playhead * sx
            p.drawLine(QPointF(x, 0), QPointF(x, h))


# -- one card ---------------------------------------------------------------------------------------
class VariationCard(QFrame):
    """A variation: its name (drag it out from here or from its roll), its notes or text, and
    Play / Export / Use buttons."""

    play_clicked = Signal(int)
    export_clicked = Signal(int)
    use_clicked = Signal(int)

    def __init__(self, index: int, name: str, music: bool, parent=None):
        super().__init__(parent)
        self.index, self.name, self.music = index, name, music
        self.make_file = None  # called to write the file to drag out; returns its path
        self._press = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(CARD_WIDTH if music else TEXT_CARD_WIDTH)  # text needs the room
        self.setAccessibleName(f"Variation {index + 1}: {name}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 3, 4, 3)
        lay.setSpacing(2)
        self.title = QLabel(name)
        self.title.setToolTip(f"{name}: drag to a DAW or file manager to drop a {'.mid' if music else '.txt'} file")
        font = QFont(self.title.font())
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        self.title.setFont(font)
        self.title.setCursor(Qt.CursorShape.OpenHandCursor)
        lay.addWidget(self.title)
        if music:
            self.roll = MiniRoll()
            self.roll.setToolTip(self.title.toolTip())
            self.roll.setCursor(Qt.CursorShape.OpenHandCursor)
            self.body = self.roll
        else:
            self.roll = None
            self.body = QPlainTextEdit()
            self.body.setReadOnly(True)
            self.body.setAccessibleName(f"Variation {index + 1} text")
            mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            mono.setPointSize(9)
            self.body.setFont(mono)
            self.body.setMinimumHeight(56)
        lay.addWidget(self.body, 1)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.buttons = {}
        for key, text, tip, signal in (
                ("play", "▶", "Play this variation", self.play_clicked),
                ("export", "Export…", f"Save as a {'.mid' if music else '.txt'} file", self.export_clicked),
                ("use", "Use", "Make this the piece to continue from (then Generate goes on from its end)",
                 self.use_clicked)):
            if key == "play" and not music:
                continue
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(f"{tip} ({name})")
            b.clicked.connect(lambda _=False, s=signal: s.emit(self.index))
            row.addWidget(b, 1 if key != "play" else 0)
            self.buttons[key] = b
        lay.addLayout(row)
        for w in (self.title, self.roll):
            if w is not None:
                w.installEventFilter(self)

    def set_ready(self, ready: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(ready)

    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        if t == ev.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
            self._press = ev.position().toPoint()
        elif t == ev.Type.MouseMove and self._press is not None:
            if (ev.position().toPoint() - self._press).manhattanLength() > QApplication.startDragDistance():
                self._press = None
                self.drag_out()
                return True
        elif t == ev.Type.MouseButtonRelease:
            self._press = None
        return False

    def drag_out(self) -> None:
        path = self.make_file() if self.make_file else None
        if path:
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(path))])
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.exec(Qt.DropAction.CopyAction)


# -- the strip of cards ----------------------------------------------------------------------------
class VariationsView(QWidget):
    """A header (what these are; Stop, Export All, Close) over a horizontally scrolling strip of cards."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Variations")
        self.header = QLabel()
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop making variations")
        self.export_all_button = QPushButton("Export All…")
        self.export_all_button.setToolTip("Save every variation into a folder, each under its name")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide the variations")
        self.close_button.setAccessibleName("Hide the variations")
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.header, 1)
        for b in (self.stop_button, self.export_all_button, self.close_button):
            top.addWidget(b)
        self.strip = QWidget()
        self.row = QHBoxLayout(self.strip)
        self.row.setContentsMargins(2, 2, 2, 2)
        self.row.setSpacing(4)
        self.row.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.strip)
        self.scroll.setWidgetResizable(True)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # when squeezed
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)
        self.cards: list[VariationCard] = []
        self.setMinimumHeight(150)  # a card's name, roll and buttons, the header and the scroll bar

    def set_cards(self, cards: list[VariationCard]) -> None:
        for c in self.cards:
            self.row.removeWidget(c)
            c.deleteLater()
        self.cards = cards
        for i, c in enumerate(cards):
            self.row.insertWidget(i, c)


# -- the controller ---------------------------------------------------------------------------------
class Variations(QObject):
    """Made by attach(): the panel's "Variations: N" controls, the strip, and what they do. A QObject
    of the GUI thread, so the worker's batches arrive queued here, never run in the worker's thread."""

    finished = Signal(object)  # a run's VariationSet, once made (or stopped): each becomes a take

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.current: VariationSet | None = None
        self.box = QGroupBox("Variations")
        self.box.setToolTip("Continue the primer several times at once, to compare and pick one (as Magenta "
                            "Studio's Continue)")
        row = QHBoxLayout(self.box)
        row.setContentsMargins(6, 2, 6, 4)
        self.count = QSpinBox()
        self.count.setRange(1, MAX_VARIATIONS)
        self.count.setValue(4)
        self.count.setPrefix("Variations: ")
        self.count.setAccessibleName("Number of variations")
        self.count.setToolTip("How many continuations of the primer to make at once (1-16), each Length tokens "
                              "long, at the dial's temperature")
        self.button = QPushButton("Make")
        self.button.setToolTip("Continue the primer N times at once; they appear side by side above the histogram")
        self.button.setEnabled(False)
        row.addWidget(self.count, 1)
        row.addWidget(self.button)
        self.view = VariationsView()
        self.view.hide()
        self.button.clicked.connect(lambda: self.start())
        self.view.stop_button.clicked.connect(self.stop)
        self.view.export_all_button.clicked.connect(self.export_all_dialog)
        self.view.close_button.clicked.connect(self.view.hide)
        window.generation.worker.varied.connect(self._varied)
        window.model_loaded.connect(self._model_loaded)

    # -- making them ------------------------------------------------------------------------------
    def start(self, count: int | None = None) -> bool:
        """Continue the primer `count` (default: the spin box's) times at once; False with a message
        when there is no model or the primer is bad."""
        from guigen.app.workers import VariationsJob

        w = self.window
        if w.model is None:
            w.show_error("No model", "Load a model first (File > Open Model, or pick one in the list).")
            return False
        count = int(count or self.count.value())
        if not 1 <= count <= MAX_VARIATIONS:
            w.show_error("Bad number of variations", f"make 1 to {MAX_VARIATIONS} variations, not {count}")
            return False
        music = w.model.kind == "music"
        try:  # the primer read as Generate reads it, leaving the sample's codec and histogram alone
            if music:
                from guigen.app.music import read_primer

                primer, source, codec = read_primer(w.model.codec, w.primer.text())
                shown = ""
            else:
                (primer, shown), source, codec = w.encode_primer(w.primer.text()), None, w.model.codec
            settings = w.sampling_settings()
        except ValueError as e:
            w.show_error("Bad primer", str(e))
            return False
        self.count.setValue(count)
        seed = w.seed.value() if w.seed.value() >= 0 else random.randrange(2**31 - 1)
        names = variation_names(w.model.name, settings.temperature, seed, count)
        self.current = VariationSet(w.model.name, w.model.kind, codec, list(primer), shown, source,
                                    settings.temperature, seed, [Variation(n) for n in names])
        cards = []
        for i, name in enumerate(names):
            card = VariationCard(i, name, music)
            card.set_ready(False)
            card.play_clicked.connect(self.play)
            card.export_clicked.connect(self.export_dialog)
            card.use_clicked.connect(self.choose)
            card.make_file = lambda i=i: self.drag_file(i)
            cards.append(card)
        self.view.set_cards(cards)
        self._refresh_all()
        self._show_view()
        self.view.stop_button.setEnabled(True)
        self.view.export_all_button.setEnabled(False)
        self._header()
        length = int(w.length.value())
        if music:  # Length is in steps: ask for enough events to fill them, then cut each at its last step
            from guigen.music.generate import MAX_NOTES_PER_STEP

            self.current.steps = length
            length = length if codec.name == "melody" else length * (MAX_NOTES_PER_STEP + 1)
        self.current.job = VariationsJob(list(primer), count, length, seed, settings, codec if music else None)
        w.generation.send("variations", self.current.job)
        return True

    def stop(self) -> None:
        self.window.generation.send("stop_variations")
        if self.current is not None and not self.current.done:
            self.current.done = True
            self._finish()

    def _show_view(self) -> None:
        """Show the strip between the output and the histogram, with room of its own."""
        sp = self.window.splitter
        if self.view.isVisible():
            return
        self.view.show()
        sizes = sp.sizes()
        i = sp.indexOf(self.view)
        if len(sizes) == 3 and sizes[i] < 100:
            total = sum(sizes)
            sizes = [int(total * 0.42), int(total * 0.28), int(total * 0.30)]
            sp.setSizes(sizes)

    def _varied(self, batch) -> None:
        cur = self.current
        if cur is None or batch.job is not cur.job:
            return  # a run that was replaced
        complete = 0
        for i, (v, toks, probs) in enumerate(zip(cur.items, batch.tokens, batch.probs)):
            complete += self._extend(v, toks, probs)
            card = self.view.cards[i]
            if batch.notes is not None:  # decoded by the worker, now and then: here they are only drawn
                notes = batch.notes[i]
                if cur.steps is not None:
                    end = cur.codec.count_steps(cur.primer) + cur.steps
                    notes = [n if n.end <= end else replace(n, end=end) for n in notes if n.start < end]
                card.roll.set_notes(notes, cur.codec.count_steps(cur.primer),
                                    batch.voices[i] if batch.voices and cur.steps is None else None)
            elif cur.kind == "text" and len(toks):
                card.body.moveCursor(QTextCursor.MoveOperation.End)
                card.body.insertPlainText("".join(cur.codec.chars[t] for t in toks))
        if batch.done or (cur.steps is not None and complete == len(cur.items)):
            if not batch.done:  # every variation has its steps: the rest of the events are not needed
                self.window.generation.send("stop_variations")
            cur.done = True
            if cur.steps is not None:
                self._refresh_all()  # each as cut, its voices assigned on what is kept
            self._finish()

    def _extend(self, v: Variation, toks, probs) -> bool:
        """Take a variation's new events in; with a length in steps, none past its last step. Whether
        it is complete."""
        cur = self.current
        if cur.steps is None:
            v.tokens.extend(int(t) for t in toks)
            v.probs.extend(float(p) for p in probs)
            return False
        done = cur.codec.count_steps(v.tokens)
        for t, p in zip(toks, probs):
            if done >= cur.steps:
                break
            v.tokens.append(int(t))
            v.probs.append(float(p))
            done += bool(cur.codec.ends_step(int(t)))
        return done >= cur.steps

    def _finish(self) -> None:
        for c in self.view.cards:
            c.set_ready(True)
        self.view.stop_button.setEnabled(False)
        self.view.export_all_button.setEnabled(True)
        self._header()
        self.finished.emit(self.current)

    def _header(self) -> None:
        cur = self.current
        n = len(cur.items)
        self.view.header.setText(f"<b>{n} variation{'s' * (n != 1)}</b>{'' if cur.done else ' (being made)'} · "
                                 f"T = {cur.temperature:g} · seed {cur.seed}")
        self.view.header.setToolTip(f"{n} continuations of the primer, made at once (one batch). Use one to "
                                    "continue from it; drag a name (or a small roll) out to drop its file.")

    def _refresh_all(self) -> None:
        cur = self.current
        for v, card in zip(cur.items, self.view.cards):
            if cur.kind == "music":
                notes, voices = self.notes(v), None
                if cur.done and cur.codec.name == "polyphony":
                    from guigen.music.voices import voice_labels

                    voices = voice_labels(notes)
                card.roll.set_notes(notes, cur.codec.count_steps(cur.primer), voices)
            else:
                card.body.setPlainText(self.text(v))

    # -- what each variation is -------------------------------------------------------------------
    def notes(self, v: Variation):
        return self.current.codec.decode(self.current.primer + v.tokens)

    def text(self, v: Variation) -> str:
        chars = self.current.codec.chars
        return self.current.primer_text + "".join(chars[t] for t in v.tokens)

    def sequence(self, v: Variation):
        from guigen.app.music import note_sequence

        seq = note_sequence(self.window, self.notes(v), self.current.source)
        seq.name = v.name
        return seq

    def export(self, index: int, path, overwrite: bool = False) -> Path:
        """Write variation `index` (0-based) atomically: .mid for music, .txt for text."""
        from guigen.core.files import atomic_write_text, refuse_overwrite

        v = self.current.items[index]
        if self.current.kind == "music":
            from guigen.app.music import export_midi

            return export_midi(self.window, path, overwrite, seq=self.sequence(v))
        refuse_overwrite(path, overwrite)
        atomic_write_text(path, self.text(v))
        return Path(path)

    def suffix(self) -> str:
        return ".mid" if self.current.kind == "music" else ".txt"

    def export_all(self, folder, overwrite: bool = False) -> list[Path]:
        """Every variation into `folder` under its name; refuses before writing any if one exists."""
        from guigen.core.files import refuse_overwrite

        paths = [Path(folder) / f"{v.name}{self.suffix()}" for v in self.current.items]
        for p in paths:
            refuse_overwrite(p, overwrite)
        return [self.export(i, p, overwrite) for i, p in enumerate(paths)]

    def drag_file(self, index: int) -> Path | None:
        try:
            folder = Path(tempfile.gettempdir()) / "guigen-drag"
            folder.mkdir(exist_ok=True)
            return self.export(index, folder / f"{self.current.items[index].name}{self.suffix()}", overwrite=True)
        except (OSError, ValueError) as e:
            self.window.show_error("Could not drag the variation out", str(e))
            return None

    def export_dialog(self, index: int) -> None:
        w = self.window
        v = self.current.items[index]
        start = str(Path(w.settings.get("last_dir") or Path.home()) / f"{v.name}{self.suffix()}")
        filters = "MIDI (*.mid *.midi)" if self.current.kind == "music" else "Text (*.txt)"
        path, _ = QFileDialog.getSaveFileName(w, f"Export {v.name}", start, filters)  # asks before replacing
        if path:
            w.settings.set("last_dir", str(Path(path).parent))
            try:
                self.export(index, path, overwrite=True)
                w.statusBar().showMessage(f"Saved {path}", 5000)
            except (OSError, ValueError) as e:
                w.show_error("Export failed", str(e))

    def export_all_dialog(self) -> None:
        w = self.window
        start = w.settings.get("last_dir") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(w, "Export All Variations To", start)
        if folder:
            w.settings.set("last_dir", folder)
            try:
                paths = self.export_all(folder)
                w.statusBar().showMessage(f"Saved {len(paths)} files in {folder}", 5000)
            except (OSError, ValueError) as e:
                w.show_error("Export failed", str(e))

    def play(self, index: int) -> None:
        from guigen.app.music import player

        w = self.window
        try:
            player(w).play(self.sequence(self.current.items[index]), self.view.cards[index].roll)
        except (ValueError, OSError) as e:
            player(w).stop()
            w.show_error("Could not play", str(e))

    def choose(self, index: int) -> None:
        """Variation `index` becomes the sample: shown in the main view, fed to the worker, paused, so
        Generate resumes from its end (and Undo steps back through it)."""
        w, cur = self.window, self.current
        v = cur.items[index]
        if cur.kind == "music":
            w.codec = cur.codec
            w.primer_source = cur.source
            metre = cur.source.time_signature if cur.source is not None else (4, 4)
            w.piano_roll.reset(cur.codec, cur.primer, metre)
            w.piano_roll.append_tokens(v.tokens, v.probs)
        else:
            w.text_view.reset(cur.primer_text)
            w.text_view.append_tokens([cur.codec.chars[t] for t in v.tokens], v.probs)
        if hasattr(w, "used_seed"):  # the export name of the sample: this variation's run
            w.used_seed, w.used_temperatures = cur.seed, {cur.temperature}
        w.generation.send("seed", cur.seed)
        w.generation.send("adopt", (cur.primer, list(v.tokens)))
        w.statusBar().showMessage(f"Continuing from {v.name}: Generate goes on from its end", 5000)

    # -- the window ---------------------------------------------------------------------------------
    def _model_loaded(self, _model) -> None:
        self.button.setEnabled(True)
        self.stop()
        self.view.hide()
        self.view.set_cards([])
        self.current = None


def attach(window) -> Variations:
    """The Variations controls on the window's panel and the strip above the histogram."""
    v = Variations(window)
    col = window.panel.column
    col.insertWidget(max(0, col.count() - 1), v.box)  # above the closing stretch
    window.splitter.insertWidget(1, v.view)
    window.splitter.setCollapsible(1, True)
    window.variations = v
    return v


def run_variations(window, count: int, timeout_s: float = 120.0) -> list[str]:
    """Make `count` variations and wait (processing events) until they are done; the names. For
    screenshots (`guigen app --screenshot ... --variations N`) and benchmarks."""
    import time

    if not window.variations.start(count):
        raise RuntimeError(window.errors[-1] if window.errors else "variations could not start")
    end = time.monotonic() + timeout_s
    app = QApplication.instance()
    while not window.variations.current.done:
        if time.monotonic() > end:
            raise TimeoutError(f"{count} variations took longer than {timeout_s:g} s")
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()  # the strip takes the last batch in and repaints
    return [v.name for v in window.variations.current.items]
