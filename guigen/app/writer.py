"""The writer's view: the text can be edited once it stops streaming, and the model continues from
the cursor: the text up to the cursor becomes the primer (the rest gives way to what comes next).
After an edit, Generate continues from the end of the edited text; the model's old state no longer
matches what is shown, so Undo and Resume wait for the next run."""

from __future__ import annotations


class Writer:
    def __init__(self, window):
        self.window = window
        tv = window.text_view
        tv.edited.connect(self._edited)
        window.actions["continue_from_cursor"].triggered.connect(self.continue_from_cursor)
        window.state_changed.connect(lambda _s: self._enable())
        window.model_loaded.connect(self._loaded)
        self._enable()

    def _loaded(self, model) -> None:
        self.window.text_view.token_text = model.codec.chars if model.kind == "text" else None
        self._enable()

    def _enable(self) -> None:
        w = self.window
        text = w.model is not None and w.model.kind == "text"
        w.actions["continue_from_cursor"].setEnabled(text and w.state != "running")

    def _edited(self) -> None:
        """The text was changed by hand: what the model holds is another text now."""
        w = self.window
        if w.state in ("paused", "stopped"):
            w._stale = True  # a batch on its way belongs to the text before the edit
            w.generation.send("clear")  # -> idle: Undo and Resume would act on the old text
        w.statusBar().showMessage("Edited: Generate continues from the end of the text, or put the cursor "
                                  "somewhere and use Continue from Cursor (Ctrl+Return)", 6000)

    def continue_from_cursor(self, at_end: bool = False) -> bool:
        """Make the text up to the cursor (or all of it) the primer, and generate from there."""
        w = self.window
        if w.model is None or w.model.kind != "text" or w.state == "running":
            return False
        text = w.text_view.text()
        pos = len(text) if at_end else w.text_view.textCursor().position()
        primer = text[:pos]
        if not primer:
            w.show_error("Nothing to continue from", "Put the cursor after some text first.")
            return False
        missing = w.model.codec.unknown(primer)
        if missing:
            shown = " ".join(repr(c) for c in missing[:12])
            w.show_error("Cannot continue from here", f"the model has never seen {shown}; remove them first")
            return False
        w.primer.setText(primer)
        w.text_view.is_edited = False  # the edited text is the primer now
        if w.state == "paused":
            w.generation.send("clear")  # Generate would resume the old run, not start from this text
            w.state = "idle"
        w.generate()
        return True


def attach(window) -> Writer:
    window.writer = Writer(window)
    return window.writer
