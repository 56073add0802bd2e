"""Docs as tests: the README documents every setting and the commands CI runs."""
from __future__ import annotations

import re

from conftest import REPO
from veiligheid.config import SETTINGS

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_setting_in_code_is_documented():
    used = set()
    for p in list(REPO.glob("*.py")) + list(REPO.glob("*.sh")) + [*REPO.glob("pages/*.py"),
                                                                  *REPO.glob("veiligheid/*.py"),
                                                                  *REPO.glob("pipelines/*.py")]:
        used |= set(re.findall(r"VEILIGHEID_[A-Z_]+", p.read_text(encoding="utf-8")))
    assert used, "no settings found at all"
    documented = set(re.findall(r"`(VEILIGHEID_[A-Z_]+)`", README))
    assert used - documented == set()
    assert set(SETTINGS) - documented == set()


def test_ci_runs_exactly_the_readme_test_command():
    assert "./test.sh" in README and "./run.sh" in README
    lines = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[-1] == "exec ./test.sh"


def test_requirements_are_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*", line), line


def test_product_does_not_read_shared_at_run_time():
    for p in [*REPO.glob("*.py"), *REPO.glob("pages/*.py"), *REPO.glob("veiligheid/*.py"), *REPO.glob("pipelines/*.py")]:
        assert "../shared" not in p.read_text(encoding="utf-8") and "/shared/" not in p.read_text(encoding="utf-8"), p
