"""The Takes dock: keeps every sample as a take (guigen.app.takes) and shows them (TakeList).

A Generate's sample is written when it stops or pauses, and again as it grows or is undone; while
it is generated it is saved every GROWING_SAVE_MS by the store's thread alone, marked unfinished
(a kill -9 mid-run leaves it on disk, listed as unfinished at the next start); a
model switch, a training run's new model or closing the window writes what is on screen first,
even mid-run. Each variation of a finished run and each harmonisation is a take too. From the
list a take can be played, continued from (it becomes the primer, with its model), exported,
dragged out, renamed, starred and deleted (Undo brings it back).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFileDialog

from guigen.app.length import bars_text
from guigen.app.takes import Take, TakeStore, music_pending, purge_deleted
from guigen.app.workspace import make_dock
from guigen.app.widgets.takelist import TakeList


GROWING_SAVE_MS = 2000  # a sample being generated is saved this often: a kill loses what came since
# the last save was asked for (this, plus the save itself: the whole piece, 0.1-0.3 s at 100-300 bars)


def takes_root(settings) -> Path | None:
    """Beside a settings file given by path (tests, screenshots: kept apart), else the user data folder."""
    path = getattr(settings, "path", None)
    return Path(path).parent / "takes" if path else None


class TakePanel(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.store = TakeStore(takes_root(window.settings))
        self.current: Take | None = None  # the take the sample on screen is kept in
        self._kept = None  # what the current take holds: (ids or characters) count, so unchanged is not rewritten
        self._deleted: list[Take] = []  # undo stack
        self.list = TakeList()
        self.list.tree.make_file = self.drag_file
        self.dock = QDockWidget("Takes", window)
        self.dock.setWidget(self.list)
        self.dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.list.play.connect(self.play)
        self.list.continue_from.connect(self.continue_from)
        self.list.export.connect(self.export_dialog)
        self.list.starred.connect(self.star)
        self.list.renamed.connect(self.rename)
        self.list.delete.connect(self.delete)
        self.list.undo.connect(self.undo)
        self.list.set_sessions(self.store.sessions(), self.store.session)
        self._growing = QTimer(self)  # while generating: the sample saved now and then (keep(growing=True))
        self._growing.setInterval(GROWING_SAVE_MS)
        self._growing.timeout.connect(lambda: self.keep(growing=True))
        window.sample_started.connect(self.new_sample)
        window.state_changed.connect(self._state)
        window.undone.connect(lambda _count: self.keep())
        window.leaving.connect(self.keep)
        window.model_loaded.connect(lambda _m: self.new_sample())

    # -- keeping ------------------------------------------------------------------------------------
    def new_sample(self) -> None:
        """What comes next is a new take (a Generate, a cleared view, another model, a harmonisation)."""
        self.current, self._kept = None, None

    def _state(self, state: str) -> None:
        if state == "running":
            self._growing.start()
        else:
            self._growing.stop()
        if state in ("stopped", "paused"):
            self.keep()

    def keep(self, growing: bool = False) -> Take | None:
        """Write the sample on screen as the current take (new, or grown): nothing if it is empty or
        unchanged. Errors go to the status bar: keeping must never stop the user's work.
        growing: it is still being generated: marked unfinished, and written by the store's thread
        alone (the GUI thread only takes a copy of the notes or text)."""
        w = self.window
        if w.model is None:
            return None
        music = w.model.kind == "music"
        if music:
            roll = w.piano_roll
            # no tokens: nothing generated (a live session's notes are its own take: keep_live);
            # no notes: a harmonisation that failed at once (its start only)
            if roll is None or not roll.tokens or not roll.notes:
                return None
            signature = (len(roll.tokens), roll.tokens[-1])
        else:
            if not w.text_view.chars:
                return None
            signature = (len(w.text_view.chars), w.text_view.chars[-1])
        unfinished = growing or w.state == "running"  # (a model switch or a close mid-run cuts it short)
        signature += (unfinished,)  # the same sample finished is written again, no longer unfinished
        if self.current is not None and signature == self._kept:
            return self.current
        try:
            # written by the store's writer thread, what the take holds in its JSON at once (TakeStore.add)
            if music:
                from guigen.app.music import note_sequence
                from guigen.music.export import write_piece

                seq = note_sequence(w)
                poly = getattr(w.model.codec, "name", "") == "polyphony"
                data, suffix = (lambda path: write_piece(seq, path, poly, overwrite=True)), ".mid"
                pending = None if growing else music_pending(seq, poly)
                size = bars_text(seq.total_steps, seq.time_signature)
            else:
                data, suffix = w.text_view.text(), ".txt"
                pending = None if growing else {"text": data}
                size = f"{len(data):,} characters"
            if self.current is None:
                take = self._describe()
                take.size, take.unfinished = size, unfinished
                self.current = self.store.add(take, data, suffix, pending, later=growing)
                self.list.add(self.current, self.store.session)
            else:
                self.current.size, self.current.unfinished = size, unfinished
                self.store.replace(self.current, data, pending, later=growing)
                self.list.refresh(self.current)
            self._kept = signature
        except (OSError, ValueError) as e:
            w.statusBar().showMessage(f"Could not keep the take: {e}", 10000)
            return None
        return self.current

    def _describe(self, name: str | None = None, source: str | None = None) -> Take:
        w = self.window
        s = w.sampling_settings()
        temps = sorted(getattr(w, "used_temperatures", set()) or {s.temperature})
        harmony = getattr(w, "harmony", None)
        primer = w.primer.text()
        if source is None:
            source = "harmonisation" if harmony is not None and w.model.kind == "music" else "generate"
            if source == "harmonisation":
                primer = str(harmony.path)
        return Take(name=name or w.sample_name(), kind=w.model.kind, model=w.model.name, model_ref=w.model_ref,
                    temperature=temps[-1], top_k=s.top_k, top_p=s.top_p, seed=w.used_seed, primer=primer,
                    source=source)

    def keep_variations(self, run) -> list[Take]:
        """Every variation of a finished run, a take each."""
        out = []
        v = self.window.variations
        for i, item in enumerate(run.items):
            if not item.tokens:
                continue
            take = self._describe(item.name, "variation")
            take.temperature, take.seed = run.temperature, run.seed
            try:
                if run.kind == "music":  # written by the store's thread, as keep() does
                    from guigen.music.export import write_piece

                    seq = v.sequence(item)
                    poly = getattr(self.window.model.codec, "name", "") == "polyphony"
                    take.size = bars_text(seq.total_steps, seq.time_signature)
                    self.store.add(take, lambda path, seq=seq: write_piece(seq, path, poly, overwrite=True), ".mid",
                                   music_pending(seq, poly))
                else:
                    text = v.text(item)
                    take.size = f"{len(text):,} characters"
                    self.store.add(take, text, ".txt", {"text": text})
            except (OSError, ValueError) as e:
                self.window.statusBar().showMessage(f"Could not keep {item.name}: {e}", 10000)
                continue
            self.list.add(take, self.store.session)
            run.takes[i] = take
            out.append(take)
        return out

    def keep_live(self, seq, mode: str) -> Take | None:
        """A live session (guigen.app.live_panel): the player's part and the model's, a take of its own."""
        if seq is None or not seq.notes:
            return None
        from guigen.music.midi import write_midi

        w = self.window
        s = w.sampling_settings()
        model = w.model.name if w.model is not None else ""
        take = Take(name=f"{model or 'guigen'}-live-{mode}", kind="music", model=model, model_ref=w.model_ref or "",
                    temperature=s.temperature, top_k=s.top_k, top_p=s.top_p, source=f"live {mode}")
        take.size = bars_text(seq.total_steps, seq.time_signature)
        try:
            # written by the store's thread, what the take holds in its JSON at once (as keep() does)
            self.store.add(take, lambda path: write_midi(seq, path, overwrite=True), ".mid", music_pending(seq, None))
        except (OSError, ValueError) as e:
            w.statusBar().showMessage(f"Could not keep the live session: {e}", 10000)
            return None
        self.list.add(take, self.store.session)
        return take

    # -- what the list asks -----------------------------------------------------------------------
    def play(self, take: Take) -> None:
        from guigen.app.music import player
        from guigen.music.midi import read_midi

        w = self.window
        self.store.flush()  # its file is written (a take just kept is written by the store's thread)
        try:
            player(w).play(read_midi(take.path), None)
        except (OSError, ValueError) as e:
            w.show_error("Could not play the take", str(e))

    def continue_from(self, take: Take) -> None:
        """The take becomes the primer (its notes as a MIDI file primer, or its text), with its model."""
        w = self.window
        self.store.flush()

        def prime(_model=None) -> None:
            if _model is not None:
                w.model_loaded.disconnect(prime)
            w.primer.setText(str(take.path) if take.kind == "music" else take.path.read_text(encoding="utf-8"))
            w.statusBar().showMessage(f"Primer: {take.name}. Generate continues from it", 6000)

        ref = take.model_ref or take.model
        if w.model is not None and ref in (w.model_ref, w.model.name):
            prime()
        else:
            w.model_loaded.connect(prime)
            w.load_model(ref)

    def export(self, take: Take, path) -> Path:
        return self.store.copy_to(take, Path(path))

    def export_dialog(self, take: Take) -> None:
        w = self.window
        suffix = take.path.suffix
        start = str(Path(w.settings.get("last_dir") or Path.home()) / f"{take.name}{suffix}")
        path, _ = QFileDialog.getSaveFileName(w, f"Export {take.name}", start, f"*{suffix}")
        if path:
            w.settings.set("last_dir", str(Path(path).parent))
            try:
                self.export(take, path)
                w.statusBar().showMessage(f"Saved {path}", 5000)
            except OSError as e:
                w.show_error("Export failed", str(e))

    def drag_file(self, take: Take) -> Path | None:
        from guigen.app.drag_files import new_path

        try:
            return self.export(take, new_path(take.name, take.path.suffix))
        except OSError as e:
            self.window.show_error("Could not drag the take out", str(e))
            return None

    def star(self, take: Take) -> None:
        take.starred = not take.starred
        self._save(take)

    def rename(self, take: Take, name: str) -> None:
        take.name = name
        self._save(take)

    def _save(self, take: Take) -> None:
        try:
            self.store.save(take)
        except OSError as e:
            self.window.show_error("Could not save the take", str(e))
        self.list.refresh(take)

    def delete(self, take: Take) -> None:
        try:
            self.store.delete(take)
        except OSError as e:
            self.window.show_error("Could not delete the take", str(e))
            return
        if take is self.current:  # the sample on screen stays; kept again as a new take if it changes
            self.current = None
        self.list.remove(take)
        self._deleted.append(take)
        self.list.set_undoable(True)
        self.window.statusBar().showMessage(f"Deleted {take.name} (Undo in the take list brings it back)", 5000)

    def undo(self) -> None:
        if not self._deleted:
            return
        take = self._deleted.pop()
        try:
            self.store.undelete(take)
        except OSError as e:
            self.window.show_error("Could not bring the take back", str(e))
            return
        known = {t.path: t for t in self.list.takes() + [take]}
        sessions = [(name, [known.get(t.path, t) for t in takes]) for name, takes in self.store.sessions()]
        self.list.set_sessions(sessions, self.store.session)
        self.list.tree.setCurrentItem(self.list.item_of(take))
        self.list.set_undoable(bool(self._deleted))

    def close(self) -> None:
        self.keep()
        self.store.flush()  # every take written before the window goes
        purge_deleted(self.store)


DOCK_WIDTH = 230  # px, at first; 3/16 of a wider window, up to 360: at 1920x1080 a name such as
# "bach-chorales-T0.9-seed2" and its length "3 bars 2 beats" are both read whole (at 230 both were cut)
DOCK_SHARE, DOCK_MAX = 3 / 16, 360
NARROW_WINDOW = 1100  # px: below this the dock starts hidden (View > Takes shows it), the roll needs the width


class _FirstShow(QObject):
    """At the window's first showing, with no layout saved: the dock's width, or hidden in a narrow window."""

    def __init__(self, window, dock):
        super().__init__(window)
        self.dock = dock
        window.installEventFilter(self)

    def eventFilter(self, window, ev) -> bool:
        if ev.type() == QEvent.Type.Show:
            window.removeEventFilter(self)
            if not window.settings.get("window/state"):
                if window.width() < NARROW_WINDOW:
                    self.dock.hide()
                else:
                    width = int(min(DOCK_MAX, max(DOCK_WIDTH, window.width() * DOCK_SHARE)))
                    window.resizeDocks([self.dock], [width], Qt.Orientation.Horizontal)
        return False


def attach(window) -> TakePanel:
    panel = TakePanel(window)
    window.takes = panel
    make_dock(window, panel.dock, "takes", "&Takes")
    window.variations.finished.connect(panel.keep_variations)
    _FirstShow(window, panel.dock)
    return panel
