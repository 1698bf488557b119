"""The Sound menu's choices: what renders the audio (automatic, the built-in synthesiser or a
SoundFont file picked in a dialog), which MIDI output port, if any, playback goes to, which MIDI
input the live panel listens to, and the live panel itself (guigen.app.live_panel).

Both are kept in the settings ("soundfont", "midi_port") and read by guigen.app.music when it plays
or exports; nothing here renders or plays.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog

from guigen.app import wheel
from guigen.app.music import BUILTIN, midi_ports

NO_PORT = "None: play through the sound device"


class SoundMenu:
    def __init__(self, window, menu):
        self.window, self.menu = window, menu
        a = window.actions
        self.group = QActionGroup(menu)
        self.group.setExclusive(True)
        self.file_action = QAction("", menu)  # the chosen SoundFont, once there is one
        self.file_action.setCheckable(True)
        self.file_action.setToolTip("Play and export audio with this SoundFont")
        for action in (a["soundfont_auto"], a["soundfont_builtin"], self.file_action):
            self.group.addAction(action)
        menu.insertAction(a["choose_soundfont"], self.file_action)
        a["soundfont_auto"].triggered.connect(lambda: self.set_soundfont(""))
        a["soundfont_builtin"].triggered.connect(lambda: self.set_soundfont(BUILTIN))
        self.file_action.triggered.connect(lambda: self.set_soundfont(self.file_action.data()))
        a["choose_soundfont"].triggered.connect(self.choose_soundfont)
        self.ports_menu = menu.addMenu("MIDI &Output")
        self.ports_menu.setToolTipsVisible(True)
        self.ports_menu.aboutToShow.connect(self.fill_ports)
        self.port_group = QActionGroup(self.ports_menu)
        self.port_group.setExclusive(True)
        self.port_names, self.port_problem = [], ""
        self.inputs_menu = menu.addMenu("MIDI &Input")  # what the live panel listens to
        self.inputs_menu.setToolTipsVisible(True)
        self.inputs_menu.aboutToShow.connect(self.fill_inputs)
        self.input_group = QActionGroup(self.inputs_menu)
        self.input_group.setExclusive(True)
        self.live_action = menu.addAction("Play &Live…", self.show_live)
        self.live_action.setStatusTip("Play a MIDI keyboard with the model: answers, a four-part harmonizer, recording")
        self.live_panel = None
        self.show_soundfont()  # the ports are listed when the menu opens: no MIDI system is touched at startup

    # -- SoundFont ----------------------------------------------------------------------------
    def soundfont(self) -> str:
        return self.window.settings.get("soundfont")

    def show_soundfont(self) -> None:
        choice = self.soundfont()
        a = self.window.actions
        path = choice if choice not in ("", BUILTIN) else ""
        self.file_action.setVisible(bool(path))
        if path:
            self.file_action.setText(f"SoundFont: {Path(path).name}")
            self.file_action.setData(path)
            self.file_action.setStatusTip(path)
        {"": a["soundfont_auto"], BUILTIN: a["soundfont_builtin"]}.get(choice, self.file_action).setChecked(True)

    def set_soundfont(self, choice: str) -> None:
        self.window.settings.set("soundfont", choice or "")
        self.show_soundfont()
        what = {"": "automatic sound", BUILTIN: "the built-in synthesiser"}.get(choice, f"SoundFont {Path(choice).name}")
        self.window.statusBar().showMessage(f"Playback and audio export use {what}", 4000)

    def choose_soundfont(self) -> None:
        w = self.window
        start = self.soundfont() if self.soundfont() not in ("", BUILTIN) else (w.settings.get("last_dir") or str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(w, "Choose SoundFont", str(start),
                                              "SoundFonts (*.sf2 *.sf3);;All files (*)")
        if not path:
            return
        if not Path(path).is_file():
            w.show_error("Could not use the SoundFont", f"{path}: no such file")
            return
        self.set_soundfont(str(Path(path).resolve()))

    # -- MIDI output ------------------------------------------------------------------------------
    def fill_ports(self) -> list[str]:
        """List the MIDI output ports now (they come and go); returns their names."""
        names, why = midi_ports()
        chosen = self.window.settings.get("midi_port")
        self.ports_menu.clear()
        for action in self.port_group.actions():
            self.port_group.removeAction(action)
        none = self.ports_menu.addAction(NO_PORT, lambda: self.set_port(""))
        for name in names:
            act = self.ports_menu.addAction(name, lambda n=name: self.set_port(n))
            self.port_group.addAction(act)
            act.setCheckable(True)
            act.setChecked(name == chosen)
        none.setCheckable(True)
        self.port_group.addAction(none)
        none.setChecked(not chosen or chosen not in names)
        if not names:
            self.ports_menu.addSeparator()
            msg = "No MIDI output ports found" + (": no MIDI system" if why else
                                                  "; start a software synth or plug in a device")
            info = self.ports_menu.addAction(msg)
            info.setEnabled(False)
            info.setToolTip(why or "Start a software synthesiser (e.g. fluidsynth, qsynth) or plug in a MIDI device")
            self.ports_menu.setStatusTip(why or msg)
        self.ports_menu.setEnabled(True)
        self.port_names, self.port_problem = names, why
        return names

    def set_port(self, name: str) -> None:
        self.window.settings.set("midi_port", name)
        self.window.statusBar().showMessage(f"Playback goes to MIDI port {name}" if name
                                            else "Playback goes to the sound device", 4000)

    # -- MIDI input and the live panel ---------------------------------------------------------
    def fill_inputs(self) -> list[str]:
        """List the MIDI input ports now; returns their names."""
        from guigen.music.midi import MidiError
        from guigen.music.ports import input_names

        try:
            names, why = input_names(), ""
        except MidiError as e:
            names, why = [], str(e)
        chosen = self.window.settings.get("midi_input")
        self.inputs_menu.clear()
        for action in self.input_group.actions():
            self.input_group.removeAction(action)
        for name in names:
            act = self.inputs_menu.addAction(name, lambda n=name: self.set_input(n))
            self.input_group.addAction(act)
            act.setCheckable(True)
            act.setChecked(name == chosen)
        if not names:
            info = self.inputs_menu.addAction("No MIDI input ports found" + (": no MIDI system" if why else
                                                                             "; plug in a keyboard"))
            info.setEnabled(False)
            info.setToolTip(why or "Plug in a MIDI keyboard, or use GuiGen's own ports in the live panel")
        return names

    def set_input(self, name: str) -> None:
        self.window.settings.set("midi_input", name)
        self.window.statusBar().showMessage(f"The live panel listens to MIDI port {name}", 4000)

    def show_live(self):
        """The live panel, made the first time it is asked for (a dock on the main window)."""
        from PySide6.QtCore import Qt

        from guigen.app.live_panel import LivePanel

        if self.live_panel is None:
            self.live_panel = LivePanel(self.window)
            self.live_panel.wheel_guard = wheel.guard(self.live_panel)  # made after the window's guard: its own
            self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.live_panel)
        self.live_panel.show()
        self.live_panel.raise_()
        return self.live_panel
