"""Variations, as Magenta Studio's Continue: N continuations of the same primer made at once (one
batch through the Generator, in the worker thread), shown side by side in a strip of cards.

Each card is named model-T-seed-vN, shows a small piano roll (music) or the text, and can be
played, exported, dragged out as a .mid or .txt file, or chosen: the chosen one becomes the
sample in the main view, and Generate (Resume) continues from its end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QFileDialog, QGroupBox, QHBoxLayout, QPushButton, QSpinBox

from guigen.app.widgets.variation_cards import VariationCard, VariationsView

MAX_VARIATIONS = 16


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
    takes: dict = field(default_factory=dict)  # index -> the Take it was kept as (guigen.app.take_panel)


def variation_names(model: str, temperature: float, seed: int, count: int) -> list[str]:
    """model-T0.8-seed3-v1 ... -vN: the export naming (model, temperature, seed) and the row."""
    return [f"{model}-T{temperature:g}-seed{seed}-v{i}" for i in range(1, count + 1)]


# -- the controller ---------------------------------------------------------------------------------
class Variations(QObject):
    """Made by attach(): the panel's "Variations: N" controls, the strip, and what they do. A QObject
    of the GUI thread, so the worker's batches arrive queued here, never run in the worker's thread."""

    finished = Signal(object)  # a run's VariationSet, once made (or stopped): each becomes a take
    started = Signal()  # a run's cards are up (the window's Tab order takes them in)

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
        self.button.setToolTip("Continue the primer N times at once; they appear side by side under the output, "
                               "in a tab beside the histogram")
        self.button.setEnabled(False)
        row.addWidget(self.count, 1)
        row.addWidget(self.button)
        self.view = VariationsView()
        self.view.hide()
        self.button.clicked.connect(lambda: self.start())
        self.view.stop_button.clicked.connect(self.stop)
        self.view.export_all_button.clicked.connect(self.export_all_dialog)
        self.view.close_button.clicked.connect(lambda: window.splitter.close_page(self.view))
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
                from guigen.app.music import read_conditioned_primer, read_primer

                if getattr(w.model.codec, "metres", ()):  # a conditioned model: the panel's metre and key
                    primer, source, codec, _ = read_conditioned_primer(w.model, w.primer.text(), *w.conditions.asked(),
                                                                       float(w.settings.get("qpm")))
                else:
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
            card.star_clicked.connect(self.star)
            card.make_file = lambda i=i: self.drag_file(i)
            cards.append(card)
        self.view.set_cards(cards)
        self._show_view()  # in the window first: the Tab order is set on it (started)
        self.started.emit()
        self._refresh_all()
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
        """Show the strip: a tab beside the distribution, under the output (which keeps its room)."""
        self.window.splitter.show_page(self.view, "Variations")

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
        self._scale()
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
        self._scale()

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
        from guigen.app.drag_files import new_path

        try:
            return self.export(index, new_path(self.current.items[index].name, self.suffix()))
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
        """Play variation `index` (its card highlighted, its button Stop), or stop it when it plays."""
        from guigen.app.music import player

        w = self.window
        p = player(w)
        card = self.view.cards[index]
        if card.playing:
            p.stop()
            return
        try:
            ok = p.play(self.sequence(self.current.items[index]), card.roll)
        except (ValueError, OSError) as e:
            p.stop()
            w.show_error("Could not play", str(e))
            return
        if not getattr(self, "_wired_player", False):
            p.finished.connect(self._stopped)
            self._wired_player = True
        for c in self.view.cards:
            c.set_playing(c is card and ok is not False)

    def _stopped(self) -> None:
        for c in self.view.cards:
            c.set_playing(False)

    def star(self, index: int) -> None:
        """Star (or unstar) the take this variation was kept as."""
        take = self.current.takes.get(index) if self.current is not None else None
        if take is None:
            self.window.statusBar().showMessage("The variation becomes a take once it is made", 4000)
            return
        self.window.takes.star(take)
        self.view.cards[index].set_starred(take.starred)

    def _scale(self) -> None:
        """One time scale for the small rolls: the longest's steps, bars of the primer's metre."""
        cur = self.current
        if cur is None or cur.kind != "music":
            return
        from guigen.app.widgets.roll_ruler import metre_steps

        metre = cur.source.time_signature if cur.source is not None else (4, 4)
        total = max((c.roll.total for c in self.view.cards), default=0)
        self.view.set_scale(total, metre_steps(metre)[1])

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
        self.window.splitter.close_page(self.view)
        self.view.set_cards([])
        self.current = None


def attach(window) -> Variations:
    """The Variations controls on the window's panel, and the strip (a tab beside the histogram)."""
    v = Variations(window)
    col = window.panel.column
    col.insertWidget(max(0, col.count() - 1), v.box)  # above the closing stretch
    window.variations = v  # its strip: a tab of the bottom panel once made (Variations._show_view)
    v.view.setParent(window.splitter.bottom)  # in the window from the start, hidden: the Tab order takes it in
    v.view.hide()
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
