"""The README and docs/*.md stay true: their Python examples and the README's cheat sheet run.

* Every ``>>>`` example in README.md and docs/*.md runs as a doctest.
* Every line of the README's cheat sheet runs in an empty directory, in order,
  with ``kpkilite`` on PATH, and what its ``# Produces:`` comment promises is
  checked: the files exist and are not empty, ``X on stdout`` is the output,
  ``exit N`` the status, ``; warning: TEXT`` the only thing on stderr (else
  stderr stays empty).
"""

from __future__ import annotations

import doctest
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_python_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    failures, attempted = doctest.testfile(
        str(path), module_relative=False, verbose=False, report=True,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert failures == 0, "%d of %d examples in %s failed" % (failures, attempted, path.name)


def cheat_sheet() -> List[Tuple[str, str]]:
    """(command, what it produces) for each line of the README's cheat sheet."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Cheat sheet", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the cheat sheet has no sh block"
    lines = []
    for line in block.group(1).splitlines():
        command, sep, produces = line.partition("# Produces:")
        assert sep, "cheat sheet line without '# Produces:': %r" % line
        lines.append((command.strip(), produces.strip()))
    return lines


def test_the_readme_setup_commands_come_first() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first is not None
    assert first.group(1).splitlines() == [
        "pip install . && kpkilite k8s-pki --dir pki",
        "bash .ci/run",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("python -m pytest"), "CI must end with the README's test command"


def test_cheat_sheet_runs(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kpkilite"
    shim.write_text('#!/bin/sh\nexec "%s" -m kpkilite "$@"\n' % sys.executable)
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ)
    env["PATH"] = "%s%s%s" % (bin_dir, os.pathsep, env.get("PATH", ""))
    env["PYTHONPATH"] = str(ROOT)
    lines = cheat_sheet()
    assert len(lines) >= 8
    for command, produces in lines:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
        status = re.search(r"exit (\d+)", produces)
        want_status = int(status.group(1)) if status else 0
        assert proc.returncode == want_status, (command, proc.stderr)
        produces, _, warning = produces.partition("; warning: ")
        if warning:
            assert proc.stderr.startswith("kpkilite: warning: ") and warning in proc.stderr, (
                command, proc.stderr)
        else:
            assert proc.stderr == "", (command, proc.stderr)
        stdout = re.match(r"(\S+) on stdout", produces)
        if stdout:
            assert proc.stdout.strip() == stdout.group(1), command
        else:
            for name in produces.split():
                path = work / name
                assert path.is_file() and path.stat().st_size > 0, (command, name)
    # spot checks of what the lines made
    assert "ECDSAWithSHA256" in (work / "www.json").read_text()
    assert (work / "cron.txt").read_text().splitlines() == [
        "2026-01-01T03:00:00+01:00", "2026-01-02T03:00:00+01:00", "2026-01-05T03:00:00+01:00"]
    assert stat.S_IMODE((work / "pki" / "admin-key.pem").stat().st_mode) == 0o600
