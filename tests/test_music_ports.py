"""MIDI output ports: with no MIDI system (as on this server and CI) a clear message, not a crash."""

import pytest

from guigen.music import ports
from guigen.music.events import Note, NoteSequence
from guigen.music.midi import MidiError


def midi_system_present() -> bool:
    try:
        ports.list_ports()
    except MidiError:
        return False
    return True


@pytest.mark.skipif(midi_system_present(), reason="this machine has a MIDI system")
def test_no_midi_system_gives_a_clear_message():
    with pytest.raises(MidiError, match="no MIDI system"):
        ports.list_ports()
    with pytest.raises(MidiError, match="write a MIDI file with -o instead"):
        ports.play_to_end(NoteSequence([Note(0, 4, 60)]))


class FakePort:
    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        self.closed = True


def test_player_sends_in_time_and_silences_on_stop(monkeypatch):
    port = FakePort()
    monkeypatch.setattr(ports.midi, "open_output", lambda name=None: port)
    now = [0.0]
    seq = NoteSequence([Note(0, 4, 60), Note(4, 8, 64)], [(0, 120.0)])  # quarter notes: 0.5 s each
    player = ports.play(seq, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    times = [next(player) for _ in range(3)]  # program change, C4 on, C4 off
    assert times == [0.0, 0.0, 0.5] and now[0] == pytest.approx(0.5)
    player.close()  # stopped half way: every note must be switched off
    assert port.closed and sum(m.type == "control_change" and m.control == 123 for m in port.sent) == 16
