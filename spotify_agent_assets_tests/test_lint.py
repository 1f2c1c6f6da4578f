"""The lint CI enforces: ruff over the whole repository, its security rules (flake8-bandit, ``S``)
included, and the formatter. `make test` is what CI runs, so the lint lives in the suite."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUFF), *args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_security_rules_are_selected() -> None:
    settings = _ruff("check", "--show-settings", "spotify_agent_assets/definitions.py").stdout
    # flake8-bandit's SQL-by-string-formatting rule, as resolved from pyproject.toml.
    assert "hardcoded-sql-expression" in settings


def test_ruff_check_passes_on_the_whole_repository() -> None:
    result = _ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
