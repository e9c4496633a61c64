"""The committed Unicode tables are exactly what tools/gen_unicode_tables.py generates from
the pinned unicodedata2 (tools/requirements-unicode.txt)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_tables_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_unicode_tables.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_detects_a_stale_table(tmp_path):
    """--check must be able to fail: a one-byte change to a copy of the table is reported."""
    src = (ROOT / "csrc" / "core" / "fl_uniprops_data.c").read_text()
    i = src.index(" 17,")  # a stage index, somewhere in the tables
    bad = src[:i] + " 16," + src[i + 4:]
    out = tmp_path / "fl_uniprops_data.c"
    out.write_text(bad)
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_unicode_tables.py"), "--check",
                        "--output", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0, r.stdout + r.stderr
