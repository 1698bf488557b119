"""The README stays a five-minute read whose links lead somewhere: short, the test command where
.ci/run finds it, and every relative link in it and in docs/ naming a file of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_short_and_ci_finds_its_test_command():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    cmd = subprocess.run(["bash", "-c", "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md "
                          "| grep -v '^<!--' | grep -v '^```'"], cwd=ROOT, capture_output=True, text=True).stdout
    assert cmd.count("\n") == 1 and "DEBIAN_FRONTEND=noninteractive apt-get install -y" in cmd
    assert "jackd2" in cmd and cmd.strip().endswith("-m pytest -q")


def test_every_relative_link_in_the_readme_and_docs_names_a_file():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which is not there"
