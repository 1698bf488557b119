"""Hostile model files: each ends in one line naming the file, in bounded memory, never a payload run.

The corpus is built here from the shipped bach-melody model by editing its safetensors header
(huge declared shapes as sparse files, deep or bulky JSON, wrong types, lengths past the end,
overlapping offsets, NaN weights), plus pickles under .safetensors and .pt names, a folder, a
symlink loop, a FIFO, random bytes and an empty file. Each goes through `guigen info -m F` and
`guigen generate -m F -n 5` in a child process that reports every exit status, stderr and its
peak memory. Nothing big is kept in the repository.
"""

import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guigen.core.modelfile import MAX_HEADER

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "bach-melody.safetensors"
MEMORY_LIMIT_MB = 200
PAYLOAD_MARK = "pwned-by-a-model-file"


def split(path=SHIPPED):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write(path, header, data, size=None, header_bytes=None):
    """A safetensors file from a header dict (or raw header bytes); `size` > the data makes it sparse."""
    raw = header_bytes if header_bytes is not None else deep(json.dumps(header)).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)
        if size is not None:
            f.truncate(8 + len(raw) + size)
    return path


def with_meta(header, **changes):
    """The header with the GuiGen metadata changed: a key set to a value, or to None to remove it."""
    header = json.loads(json.dumps(header))
    meta = json.loads(header["__metadata__"]["guigen"])
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = meta
        for p in parents:
            target = target[p]
        target[last] = value
    header["__metadata__"]["guigen"] = deep(json.dumps(meta))
    return header


def nested(depth):
    """A stand-in for `depth` nested lists (json.dumps itself would recurse too deeply to write them)."""
    return f"@nested{depth}@"


def deep(text):
    """JSON text with each stand-in written out as nested lists."""
    for depth in (60, 5000, 100_000):
        text = text.replace(f'"@nested{depth}@"', "[" * depth + "]" * depth)
    return text


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (self.marker, "w"))


def build_corpus(d: Path) -> dict[str, Path]:
    header, data = split()
    end = len(data)
    files = {}

    def add(name, *args, **kw):
        files[name] = write(d / f"{name}.safetensors", *args, **kw)

    huge = dict(header, zz={"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [end, end + 4 * 10**12]})
    try:
        add("huge-shape-sparse", huge, data, size=end + 4 * 10**12)  # 4 TB declared, a few MB on disk
    except OSError:  # a file system without files this large: 40 GB declared
        huge["zz"] = {"dtype": "F32", "shape": [10**5, 10**5], "data_offsets": [end, end + 4 * 10**10]}
        add("huge-shape-sparse", huge, data, size=end + 4 * 10**10)
    big = json.loads(json.dumps(header))
    begin = big["head.weight"]["data_offsets"][0]
    big["head.weight"] = {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": big["head.weight"]["data_offsets"]}
    add("huge-shape-few-bytes", big, data)
    gib = json.loads(json.dumps(header))
    for t in gib.values():  # head.weight declared 1 GiB, the tensors after it moved along, the file sparse
        if isinstance(t, dict) and "data_offsets" in t and t["data_offsets"][0] > begin:
            t["data_offsets"] = [o + (1 << 30) - 51 * 256 * 4 for o in t["data_offsets"]]
    gib["head.weight"] = {"dtype": "F32", "shape": [1 << 28], "data_offsets": [begin, begin + (1 << 30)]}
    add("gib-tensor-sparse", gib, data, size=end + (1 << 30) - 51 * 256 * 4)
    add("config-says-huge", with_meta(header, config__hidden=16384), data)
    add("deep-json-metadata", with_meta(header, training__history=nested(60)), data)
    add("very-deep-json-metadata", with_meta(header, training__history=nested(100_000)), data)
    add("deep-json-header", dict(header, zz=nested(5000)), data)
    add("many-json-objects", with_meta(header, training__history=[{}] * 200_000), data)
    add("header-over-cap", None, data, header_bytes=json.dumps(header).encode() + b" " * MAX_HEADER)
    add("config-a-string", with_meta(header, config="abc"), data)
    add("codec-a-number", with_meta(header, codec=5), data)
    add("chars-a-number", with_meta(header, codec={"kind": "text", "chars": 123}), data)
    add("pitch-a-string", with_meta(header, codec__min_pitch="low"), data)
    add("data-chars-a-string", with_meta(header, training__data_chars="many"), data)
    add("split-a-string", with_meta(header, training__split="90/5/5"), data)
    add("training-a-list", with_meta(header, training=[1, 2]), data)
    add("format-a-string", with_meta(header, format="1"), data)
    add("metadata-not-strings", dict(header, __metadata__={"guigen": {"format": 1}}), data)
    add("hidden-a-float", with_meta(header, config__hidden=256.5), data)
    files["header-length-past-end"] = d / "header-length-past-end.safetensors"
    files["header-length-past-end"].write_bytes(struct.pack("<Q", 2**40) + b"{" + data[:100])
    raw = json.dumps(header).encode()
    files["header-cut-short"] = d / "header-cut-short.safetensors"
    files["header-cut-short"].write_bytes(struct.pack("<Q", len(raw) + 10) + raw)
    add("data-cut-short", header, data[: end // 2])
    overlap = json.loads(json.dumps(header))
    overlap["head.bias"]["data_offsets"] = [0, overlap["head.bias"]["data_offsets"][1] - overlap["head.bias"]["data_offsets"][0]]
    add("offsets-overlap", overlap, data)
    neg = json.loads(json.dumps(header))
    neg["head.bias"]["data_offsets"] = [-4, neg["head.bias"]["data_offsets"][1]]
    add("offsets-negative", neg, data)
    odd = json.loads(json.dumps(header))
    odd["head.bias"]["dtype"] = "Q7"
    add("dtype-unknown", odd, data)
    ints = json.loads(json.dumps(header))
    ints["head.bias"]["dtype"] = "I32"
    add("dtype-integer", ints, data)
    nan = bytearray(data)
    a, b = header["head.bias"]["data_offsets"]
    nan[a:b] = np.full((b - a) // 4, np.nan, np.float32).tobytes()
    add("nan-weights", header, bytes(nan))
    for suffix in (".safetensors", ".pt"):
        p = d / f"pickle{suffix}"
        p.write_bytes(pickle.dumps(Payload(str(d / PAYLOAD_MARK))))
        files[f"pickle{suffix}"] = p
    (d / "folder.safetensors").mkdir()
    files["folder"] = d / "folder.safetensors"
    os.symlink("loop.safetensors", d / "loop.safetensors")
    files["symlink-loop"] = d / "loop.safetensors"
    os.mkfifo(d / "fifo.safetensors")
    files["fifo"] = d / "fifo.safetensors"
    (d / "random.safetensors").write_bytes(np.random.default_rng(7).bytes(4096))
    files["random-bytes"] = d / "random.safetensors"
    (d / "empty.safetensors").write_bytes(b"")
    files["empty"] = d / "empty.safetensors"
    return files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    return d, build_corpus(d)


RUNNER = r"""
import contextlib, io, json, sys, traceback
from guigen.cli import main

def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would count the forking parent's at exec)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
    except BaseException:
        rc, err = 99, io.StringIO(traceback.format_exc())
    out.append([rc, err.getvalue(), peak_mb()])
print(json.dumps({"runs": out, "maxrss_mb": peak_mb()}))
"""


def run_all(argvs, env=None):
    """Run guigen's main() on each argv in one child process: (exit status, stderr) each, peak MB, stderr."""
    r = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(argvs)], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    runs = report["runs"]
    over = next((f"{argv}: peak {mb:.0f} MB" for argv, (_, _, mb) in zip(argvs, runs) if mb >= MEMORY_LIMIT_MB), "")
    return [run[:2] for run in runs], report["maxrss_mb"], r.stderr + over


def test_every_hostile_file_is_one_line_in_bounded_memory(corpus):
    d, files = corpus
    argvs = []
    for path in files.values():
        argvs += [["info", "-m", str(path)], ["generate", "-m", str(path), "-n", "5"]]
    runs, peak_mb, child_stderr = run_all(argvs)
    for argv, (rc, err) in zip(argvs, runs):
        lines = err.strip().splitlines()
        assert rc in (1, 2) and len(lines) == 1 and "Traceback" not in err, (argv, rc, err)
        assert argv[2] in lines[0] and "error:" in lines[0], (argv, err)
    assert "panicked" not in child_stderr and "Traceback" not in child_stderr and "Exception" not in child_stderr, \
        child_stderr
    assert peak_mb < MEMORY_LIMIT_MB, f"{peak_mb:.0f} MB; first over the limit: {child_stderr}"
    assert not (d / PAYLOAD_MARK).exists(), "a pickle payload ran"
    reasons = {name: err for name, (_, err) in zip([n for n in files for _ in (0, 1)], runs)}
    for name, word in [("huge-shape-sparse", "sparse"), ("gib-tensor-sparse", "sparse"),
                       ("huge-shape-few-bytes", "does not match"), ("config-says-huge", "expected (65536"),
                       ("deep-json-metadata", "nested too deeply"), ("very-deep-json-metadata", "too many"),
                       ("deep-json-header", "nested too deeply"), ("many-json-objects", "too many"),
                       ("header-over-cap", "header of"), ("pickle.safetensors", "never unpickles"),
                       ("pickle.pt", "never unpickles"), ("folder", "a folder"), ("symlink-loop", "link loop"),
                       ("fifo", "FIFO"), ("nan-weights", "NaN"), ("empty", "too short"),
                       ("header-length-past-end", "truncated"), ("offsets-overlap", "overlapping"),
                       ("dtype-integer", "floating point"), ("config-a-string", "'config'"),
                       ("training-a-list", "'training'"), ("data-chars-a-string", "data_chars")]:
        assert word in reasons[name], (name, reasons[name])
    print("\n".join(f"{n}: {e.strip()}" for n, e in reasons.items()), f"\npeak {peak_mb:.0f} MB")


def test_the_console_script_on_the_worst_files(corpus):
    """The installed entry point itself, as a user runs it: one line, no traceback, its own peak memory."""
    d, files = corpus
    guigen = Path(sys.executable).with_name("guigen")
    # the child's peak as the kernel counts it for its children (the small wrapper's size is its floor)
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr); "
               "sys.exit(r.returncode)")
    for name in ("huge-shape-sparse", "very-deep-json-metadata"):
        r = subprocess.run([sys.executable, "-c", wrapper, str(guigen), "generate", "-m", str(files[name]), "-n", "5"],
                           capture_output=True, text=True, timeout=120)
        *lines, peak = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and str(files[name]) in lines[0], r.stderr
        assert float(peak) < MEMORY_LIMIT_MB, peak


def test_the_list_shows_bad_files_and_goes_on(corpus, tmp_path):
    d, files = corpus
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "good.safetensors").write_bytes(SHIPPED.read_bytes())
    for name in ("huge-shape-sparse", "codec-a-number", "pickle.safetensors", "folder", "symlink-loop", "fifo"):
        target = folder / f"bad-{name.replace('.', '-')}.safetensors"
        if files[name].is_symlink():
            os.symlink(target.name, target)
        elif files[name].is_dir():
            target.mkdir()
        elif name == "fifo":
            os.mkfifo(target)
        else:
            os.link(files[name], target)
    runs, peak_mb, _ = run_all([["info"]], env={**os.environ, "GUIGEN_MODELS": str(folder)})
    rc, err = runs[0]
    assert rc == 0 and not err, err
    r = subprocess.run([sys.executable, "-m", "guigen", "info"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "GUIGEN_MODELS": str(folder)})
    assert r.returncode == 0 and not r.stderr, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith(("bad-", "good"))}
    assert "LSTM" in rows["good"] and len(rows) == 7
    for name, line in rows.items():
        if name != "good":
            assert "not usable:" in line, line
    assert "your models go in:" in r.stdout and "the app's settings:" in r.stdout


def test_a_panic_of_the_binding_becomes_a_model_file_error(corpus):
    """The header checks keep the binding from ever seeing these files; should one get through, its
    Rust panic (pyo3's PanicException, a BaseException) still ends as a ModelFileError. In a child
    process: the binding leaves a dangling buffer behind that the interpreter reports at exit."""
    d, files = corpus
    code = ("import sys\nfrom guigen.core.modelfile import ModelFileError, read_tensors\n"
            "try:\n    read_tensors(sys.argv[1], {'zz': (10**6, 10**6)})\n"
            "except ModelFileError as e:\n    print('caught:', e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(files["huge-shape-sparse"])], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "RUST_BACKTRACE": "0"})
    assert "panicked" in r.stderr  # the binding really panicked...
    assert "caught:" in r.stdout and "could not read the weights (PanicException" in r.stdout, r.stdout + r.stderr


def test_the_app_shows_the_error_and_stays_usable(corpus, qtbot):
    from guigen.app.engine import Engine  # what the app's generation process runs

    d, files = corpus
    sent = []
    engine = Engine(lambda *msg: sent.append(msg))
    for name in ("huge-shape-sparse", "deep-json-header", "pickle.pt", "fifo"):
        engine.handle("load", str(files[name]))
    failures = [m[2] for m in sent if m[0] == "failed"]
    loaded = [m[1] for m in sent if m[0] == "loaded"]
    assert len(failures) == 4 and not loaded and all("\n" not in m for m in failures), failures
    engine.handle("load", str(SHIPPED))
    loaded = [m[1] for m in sent if m[0] == "loaded"]
    assert len(loaded) == 1 and loaded[0].kind == "music"


def test_the_main_window_says_why_and_loads_the_next_model(corpus, qtbot, tmp_path):
    """The whole app: a hostile file is a message in the window, which then loads and runs a good model."""
    from app_helpers import TIMEOUT, open_window

    d, files = corpus
    gen = open_window(qtbot, tmp_path, SHIPPED)
    w = next(gen)
    try:
        for name in ("huge-shape-sparse", "pickle.safetensors", "symlink-loop"):
            with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
                w.load_model(str(files[name]))
            assert str(files[name].name) in w.errors[-1] and "Loading" not in w.statusBar().currentMessage()
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
            w.load_model(str(SHIPPED))
        assert w.model is not None and w.model.name == "bach-melody"
    finally:
        next(gen, None)
