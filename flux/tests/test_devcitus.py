"""The Citus run of the test command when there is no Citus source to build."""

import os
import subprocess
import sys
from pathlib import Path

from flux.devservices import ROOT


def test_without_the_source_the_run_says_its_tests_did_not_run_and_succeeds(tmp_path: Path) -> None:
    env = {**os.environ, "FLUX_CITUS_SOURCE": str(tmp_path)}
    command = [sys.executable, "-c", "raise SystemExit(3)"]  # would fail the run, were it started

    result = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "flux.devcitus", "exec", "--", *command],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0
    assert f"the Citus tests did NOT run: no Citus source at {tmp_path}" in result.stderr
