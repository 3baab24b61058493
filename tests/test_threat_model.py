"""docs/threat-model.md names a test for every claim: each one must exist (found by parsing the test files,
so a renamed or deleted test breaks this one), and every attack section must name at least one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

DOC = REPO / "docs" / "threat-model.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
ATTACKS = (
    "Forgery",
    "Replay",
    "Backdating",
    "Rewriting history",
    "Split views",
    "Key compromise",
    "A captured authority",
    "Lies at the mine gate",
    "Collusion",
    "Laundering through mixing",
)


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_test_the_threat_model_names_exists() -> None:
    named = REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(named) >= 40, "the threat model names fewer tests than it has claims"
    missing = []
    for file, name in sorted(set(named)):
        path = REPO / file
        if not path.is_file() or name not in _tests_in(path):
            missing.append(f"{file}::{name}")
    assert not missing, f"docs/threat-model.md names tests that do not exist: {missing}"


def test_every_attack_the_issue_lists_has_a_section_naming_tests() -> None:
    sections = _sections(DOC.read_text(encoding="utf-8"))
    for attack in ATTACKS:
        heading = next((h for h in sections if h.startswith(attack)), None)
        assert heading is not None, f"no section for {attack}"
        assert REFERENCE.search(sections[heading]), f"the section {heading!r} names no test"


def test_the_model_says_plainly_what_adamas_cannot_prevent() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "Adamas cannot tell whether a declared `lot.register` is true" in text
