"""The piano roll's colours, mixed into PianoRoll: each note's fill (its voice, or the probability
of the event that struck it, or the Cells view's colour; primer notes paler), the voice legend,
and the palette's colours for the backdrop, markers and labels (light and dark alike)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette, QPen

from guigen.app.theme import is_dark, readable
from guigen.app.widgets.roll_notes import ONE_COLOUR, VOICE_COLOURS, VOICE_NAMES, prob_fill


class RollColours:
    def _brush(self, colour: QColor):
        key = colour.rgba()
        brush = self._brushes.get(key)
        if brush is None:
            brush = self._brushes[key] = pg.mkBrush(colour)
        return brush

    def _styles(self, drawn):
        """(brushes, pens) for the notes drawn (indices): one colour means one thing at a time.
        Normally the voice's colour; colouring by probability, the probability of the event that
        struck the note (notes are a few pixels high, too small to show both). Primer notes are paler."""
        c = self.colours
        outline = pg.mkPen(c["outline"], width=1)
        brushes, voices, notes, probs = [], self._voices_now, self._notes, self._note_probs
        for i in drawn:
            n = notes[i]
            if self.step_colours is not None and n.start < len(self.step_colours):
                fill = QColor(self.step_colours[n.start])
            elif self.colour:
                p = probs[i]
                fill = prob_fill(p) if p is not None else QColor(c["primer_note"])
            else:
                v = voices[i] if voices is not None else None
                fill = QColor(c["voices"][v] if v is not None else (c["unclear"] if voices is not None else c["one"]))
            if n.start < self.primer_steps and self.step_colours is None:
                fill.setAlpha(120)
            brushes.append(self._brush(fill))
        return brushes, [outline] * len(brushes)

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
