"""CPU training's OpenMP threads spin briefly before they sleep, unless the user chose a policy
(benchmarks/openmp_wait.py measures why)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from guigen.core.devices import SPIN_COUNT, set_openmp_waiting


@pytest.mark.parametrize("given", [{}, {"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "5"},
                                   {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": "7"}])
def test_a_short_spin_unless_the_user_chose(monkeypatch, given):
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    set_openmp_waiting()
    if given:
        assert {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ} == given
    else:
        assert os.environ["GOMP_SPINCOUNT"] == str(SPIN_COUNT) and "OMP_WAIT_POLICY" not in os.environ


def test_guigen_train_sets_it_before_torch_loads(tmp_path):
    """The policy is read once, when torch's OpenMP runtime starts: `train` must set it first."""
    text = tmp_path / "t.txt"
    text.write_text("abcdefgh " * 400)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    probe = ("import sys\n"
             "import guigen.core.devices as d\n"
             "real = d.set_openmp_waiting\n"
             "def spy():\n"
             "    print('torch loaded before:', 'torch' in sys.modules)\n"
             "    real()\n"
             "d.set_openmp_waiting = spy\n"
             "sys.argv = ['guigen', 'train', 'text', sys.argv[1], '-o', sys.argv[2], '--layers', '1', '--hidden', '8',\n"
             "            '--embed', '4', '--epochs', '1', '--seq-len', '8', '--batch', '2']\n"
             "from guigen.cli import main\n"
             "code = main()\n"
             "import os, torch\n"
             "print('spin', os.environ.get('GOMP_SPINCOUNT'))\n"
             "sys.exit(code)\n")
    out = subprocess.run([sys.executable, "-c", probe, str(text), str(tmp_path / "m.safetensors")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "torch loaded before: False" in out.stdout and f"spin {SPIN_COUNT}" in out.stdout, out.stdout
