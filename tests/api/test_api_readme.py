"""The README's HTTP examples are true: every reading `curl` of its "The HTTP service" block answers 200
from the demo world (the block is not a console block: `adamas serve` runs until stopped)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from served import Served, demo_fixture  # noqa: F401 - demo_fixture is the fixture `demo`

README = Path(__file__).resolve().parents[2] / "README.md"


def reading_curls() -> list[str]:
    """The paths (with query) of the curl lines of the HTTP section that send no body."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The HTTP service") :]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    lines = block.group(1).replace("\\\n", " ").splitlines()
    out = []
    for line in lines:
        words = shlex.split(line, comments=True)
        if words and words[0] == "curl" and "--data-binary" not in words:
            url = urlsplit(next(w for w in words if w.startswith("http")))
            out.append(url.path + (f"?{url.query}" if url.query else ""))
    return out


def test_the_readme_reads_answer(demo: Served) -> None:
    paths = reading_curls()
    assert len(paths) >= 3
    for path in paths:
        got = demo.client.get(path)
        assert got.status_code == 200, (path, got.text)
