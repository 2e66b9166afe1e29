"""The benchmark itself, in its quick mode, so that it cannot rot.

The figures are not checked here (the machine running the tests is shared and
noisy); `./dev.sh bench` checks them against the targets.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT

# It narrates with the real engine (and takes minutes): outside the fast subset.
pytestmark = pytest.mark.real_engine


def test_the_quick_benchmark_runs_and_reports_every_ratio() -> None:
    """`python -m bench --quick` measures every case and prints the table and ratios."""
    result = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    for case in ("floor", "naive", "cold", "no-op", "edit"):
        assert re.search(rf"^{case} +\d+\.\d\d +\d+ ", result.stdout, re.M), result.stdout
    for ratio in ("cold / floor", "no-op / floor", "edit / cold", "long peak MB",
                  "long s per audio hour / article s per audio hour"):
        assert re.search(rf"^{re.escape(ratio)} +\d+\.\d\d  target <= ", result.stdout, re.M)
