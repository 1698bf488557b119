"""Every action of the main window, built in one place, in one dict keyed by stable names."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

# name: (menu text, shortcut, tip, checkable)
SPECS: dict[str, tuple[str, str | QKeySequence.StandardKey | None, str, bool]] = {
    "open": ("&Open Model…", QKeySequence.StandardKey.Open, "Open a model file (.safetensors)", False),
    "export_text": ("Export &Text…", QKeySequence.StandardKey.Save, "Save the generated text as a .txt file", False),
    "export_midi": ("Export &MIDI…", "Ctrl+M", "Save the generated music as a .mid file", False),
    "export_wav": ("Export &Audio…", "Ctrl+Shift+W", "Render the generated music to a .wav file", False),
    "train": ("T&rain New Model…", "Ctrl+T", "Train a model on your own text or MIDI files", False),
    "quit": ("&Quit", QKeySequence.StandardKey.Quit, "Quit GuiGen", False),
    "generate": ("&Generate", "F5", "Generate a new sample from the primer, or resume when paused (F5)", False),
    "pause": ("&Pause", "F6", "Pause generation; turn the dial to see the next distribution change (F6)", False),
    "step": ("&Step", "F7", "Generate one token (F7)", False),
    "stop": ("St&op", "Esc", "Stop generating (Esc)", False),
    "undo": ("&Undo Token", QKeySequence.StandardKey.Undo, "Step back one token", False),
    "clear": ("&Clear", "Ctrl+L", "Clear the output and start over", False),
    "continue_from_cursor": ("Continue from &Cursor", "Ctrl+Return", "Make the text up to the cursor the primer "
                             "and generate from there (the text after it gives way)", False),
    "play": ("Pla&y", "Ctrl+Space", "Play the generated music", False),
    "stop_playback": ("Stop Playback", "Ctrl+.", "Stop playback", False),
    "harmonize": ("&Harmonize Melody…", "Ctrl+Shift+H", "Write alto, tenor and bass under a melody (.mid, .abc, "
                  ".musicxml) with the chorale model, at the dial's temperature", False),
    "open_primer_midi": ("Open MIDI &Primer…", "Ctrl+Shift+O", "Start music from the notes of a MIDI file (its tempo is kept)", False),
    "choose_soundfont": ("Choose &SoundFont…", None, "Play and export audio with a SoundFont (.sf2) file", False),
    "soundfont_auto": ("&Automatic Sound", None, "A system SoundFont when one is installed, else the built-in synthesiser", True),
    "soundfont_builtin": ("&Built-in Synthesiser", None, "Play and export audio with the built-in synthesiser", True),
    "colour_by_prob": ("&Colour by Probability", "Ctrl+K", "Colour each token by the probability it had", True),
    "sort_by_prob": ("&Sort Bars by Probability", "Ctrl+B", "Sort the histogram by probability, else by vocabulary order", True),
    "show_raw": ("Show &Raw T = 1 Distribution", "Ctrl+R", "Overlay the model's own distribution (T = 1)", True),
    "log_scale": ("&Logarithmic Probability Axis", "Ctrl+G", "Show the histogram's probabilities on a log scale, "
                  "down to 0.0001", True),
    "pause_resume": ("Pause or Resume", "Space", "Pause, or resume, generating (Space, when no text field "
                     "has the focus)", False),
    "temperature_up": ("Temperature Up", "Ctrl+Up", "Raise the temperature one notch", False),
    "temperature_down": ("Temperature Down", "Ctrl+Down", "Lower the temperature one notch", False),
    "about": ("&About GuiGen", None, "About this program", False),
}

MENUS = {
    "&File": ["open", "open_primer_midi", None, "export_text", "export_midi", "export_wav", None, "train", None, "quit"],
    "&Generate": ["generate", "pause", "pause_resume", "step", "stop", None, "harmonize", None, "undo", "clear", "continue_from_cursor", None,
                  "temperature_up",
                  "temperature_down"],
    "&Sound": ["play", "stop_playback", None, "soundfont_auto", "soundfont_builtin", "choose_soundfont", None],
    "&View": ["colour_by_prob", "sort_by_prob", "show_raw", "log_scale"],
    "&Help": ["about"],
}


def build_actions(parent) -> dict[str, QAction]:
    actions = {}
    for name, (text, shortcut, tip, checkable) in SPECS.items():
        a = QAction(text, parent)
        a.setObjectName(name)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.setCheckable(checkable)
        a.setIconText(text.replace("&", "").replace("…", "").replace(" Token", ""))
        actions[name] = a
    return actions
