"""The documentation holds together: a README a newcomer reads in ten minutes, every relative link
of the README, docs/ and bench/README.md pointing at a file that exists, and every docs page
reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tiny_project import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code spans, where `[x](y)` is not a link."""
    text = re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(page: Path) -> list[str]:
    """The targets of the page's relative links, anchors dropped (a bare `#anchor` is the page itself)."""
    targets = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, flags=re.I):  # https:, mailto:, ...
            continue
        targets.append(target.split("#", 1)[0] or page.name)
    return targets


def test_the_readme_is_300_lines_or_fewer():
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move detail to docs/"


def test_the_docs_pages_exist():
    assert len(PAGES) > 2 and all(page.is_file() for page in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(page):
    missing = [t for t in relative_links(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_every_docs_page_and_the_benchmarks_are_linked_from_the_readme():
    linked = {(README.parent / t).resolve() for t in relative_links(README)}
    wanted = [p for p in PAGES if p != README]
    unlinked = [str(p.relative_to(ROOT)) for p in wanted if p.resolve() not in linked]
    assert not unlinked, f"README.md does not link: {unlinked}"


def test_the_links_are_relative():
    absolute = [(str(p.relative_to(ROOT)), t) for p in PAGES for t in LINK.findall(prose(p.read_text()))
                if t.startswith(("/", "file:")) or ("github.com" in t and "/blob/" in t)]
    assert not absolute, absolute
