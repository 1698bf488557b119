"""Output paths: regular files only, links followed, checks before any work, one line per OS error.

Run as root (as here and in CI), so what only permissions would forbid can't be shown; a
read-only bind mount stands in for a read-only disk where mounting is allowed.
"""

import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from guigen.cli import main
from guigen.core.files import (STALE_PART_SECONDS, atomic_write_text, check_output, describe_os_error,
                               remove_stale_parts)

GEN = ["generate", "-m", "shakespeare", "-n", "5", "--seed", "1"]


def run(capsys, *args):
    rc = main([*GEN, *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_device_node_is_never_replaced(tmp_path, capsys):
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a second /dev/null
    except PermissionError:
        pytest.skip("mknod needs root")
    rc, _, err = run(capsys, "-o", dev, "--force")
    assert rc == 1 and "character device" in one_line(err) and str(dev) in err
    assert stat.S_ISCHR(dev.stat().st_mode)
    with pytest.raises(OSError, match="character device"):  # the write itself refuses too (training, the app)
        atomic_write_text(dev, "x")
    assert stat.S_ISCHR(dev.stat().st_mode)


def test_a_fifo_and_a_socket_are_refused_without_waiting(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    rc, _, err = run(capsys, "-o", fifo, "--force")
    assert rc == 1 and "FIFO" in one_line(err) and stat.S_ISFIFO(fifo.stat().st_mode)
    sock_path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        rc, _, err = run(capsys, "-o", sock_path, "--force")
    assert rc == 1 and "socket" in one_line(err)


def test_a_symlink_is_followed_and_kept(tmp_path, capsys):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    rc, _, err = run(capsys, "-o", link)
    assert rc == 2 and "exists" in one_line(err) and target.read_text() == "old"
    assert run(capsys, "-o", link, "--force")[0] == 0
    assert link.is_symlink() and target.read_text() != "old"
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to("made/by/the/link.txt")
    assert run(capsys, "-o", dangling)[0] == 0
    assert dangling.is_symlink() and (tmp_path / "made/by/the/link.txt").is_file()
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop.name)
    rc, _, err = run(capsys, "-o", loop, "--force")
    assert rc == 1 and "link loop" in one_line(err)


def test_folders_in_the_way_and_missing_folders(tmp_path, capsys):
    rc, _, err = run(capsys, "-o", tmp_path, "--force")
    assert rc == 1 and "is a folder" in one_line(err)
    afile = tmp_path / "afile"
    afile.write_text("x")
    rc, _, err = run(capsys, "-o", afile / "sub" / "x.txt")
    assert rc == 1 and f"{afile} is a file, not a folder" in one_line(err)
    assert run(capsys, "-o", tmp_path / "new" / "folders" / "x.txt")[0] == 0  # created, as --help says
    assert (tmp_path / "new" / "folders" / "x.txt").is_file()


def test_too_little_space_is_found_before_any_work(tmp_path):
    with pytest.raises(OSError) as e:
        check_output(tmp_path / "x.txt", size_estimate=1 << 60)
    assert "needs about" in describe_os_error(e.value) and str(tmp_path) in describe_os_error(e.value)


def test_a_full_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "guigen", *GEN[:-2], "-n", "3000"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1 and "standard output: No space left on device" in one_line(r.stderr)


def test_a_read_only_folder_is_found_before_any_work(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True).returncode:
        pytest.skip("can't make a read-only bind mount here")
    try:
        rc, _, err = run(capsys, "-o", ro / "x.txt")
        assert rc == 1 and "Read-only file system" in one_line(err) and str(ro) in err
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_part_files_of_killed_writes_are_removed_at_the_next_write(tmp_path):
    out = tmp_path / "out.txt"
    code = ("import sys, time\nfrom guigen.core.files import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n    tmp.write_text('half'); print(tmp, flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    part = child.stdout.readline().strip()
    child.kill()
    child.wait()
    assert os.path.exists(part) and not out.exists()  # what a killed run leaves
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".out.txt.{sleeper.pid}.abcdefgh.part"  # a writer still running
        live.write_text("in progress")
        old = time.time() - STALE_PART_SECONDS - 5
        for p in (part, live):
            os.utime(p, (old, old))
        fresh = tmp_path / f".out.txt.{child.pid}.zyxwvuts.part"  # just left by a dead writer: kept a minute
        fresh.write_text("x")
        other = tmp_path / f".out.txt.5.{child.pid}.abcdefgh.part"  # another file's (out.txt.5)
        other.write_text("x")
        os.utime(other, (old, old))
        atomic_write_text(out, "whole")
        assert out.read_text() == "whole" and not os.path.exists(part)
        assert live.exists() and fresh.exists() and other.exists()
        assert remove_stale_parts(out) == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_inputs_that_are_not_files_are_named_and_never_waited_on(tmp_path, capsys):
    fifo = tmp_path / "primer.mid"
    os.mkfifo(fifo)
    args = ["generate", "-m", "bach-melody", "-n", "4", "--primer-midi", fifo, "-o", tmp_path / "x.mid"]
    r = subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "FIFO" in one_line(r.stderr) and str(fifo) in r.stderr
    assert main(["eval", "-m", "shakespeare", str(fifo)]) == 2  # in-process: a subprocess would import torch again
    assert f"{fifo}: a FIFO (named pipe), not a text file" in one_line(capsys.readouterr().err)
    assert main(["eval", "-m", "shakespeare", str(tmp_path)]) == 2
    assert f"{tmp_path}: a folder, not a text file" in one_line(capsys.readouterr().err)


def test_permissions_as_a_user_without_root_s_override(tmp_path):
    """Root reads and writes past file modes; setpriv drops that power (CAP_DAC_OVERRIDE) for one child."""
    import shutil

    from test_hostile_models import SHIPPED

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop root's permission override")
    drop = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
            "-dac_override,-dac_read_search", sys.executable, "-m", "guigen"]
    model = tmp_path / "locked.safetensors"
    model.write_bytes(SHIPPED.read_bytes())
    model.chmod(0)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    for args, said in [(["info", "-m", model], "permission denied"),
                       (["generate", "-m", "shakespeare", "-n", "5", "-o", ro / "x.txt"], "Permission denied")]:
        r = subprocess.run([*drop, *map(str, args)], capture_output=True, text=True, timeout=120)
        if r.returncode and "setpriv" in r.stderr:
            pytest.skip(f"setpriv refused here: {r.stderr.strip()}")
        assert r.returncode == 1 and said in one_line(r.stderr) and str(args[2] if args[0] == "info" else ro) in r.stderr


def test_a_full_disk_while_writing_names_the_file_and_leaves_nothing(tmp_path):
    from guigen.core.files import atomic_path

    target = tmp_path / "out.wav"
    with pytest.raises(OSError) as e:
        with atomic_path(target):
            with open("/dev/full", "wb") as full:  # a real ENOSPC, as a streaming render meets on a full disk
                full.write(b"x" * 10)
    assert describe_os_error(e.value) == f"{target}: No space left on device"
    assert list(tmp_path.iterdir()) == []
