"""Links in the docs resolve, and README.md's links work where the package index shows it.

- Every relative link in docs/*.md points at a file of the checkout, and every ``#anchor``
  (in the same page or another) names a heading of the target page, slugged as GitHub
  does: lower case, punctuation other than ``-`` and ``_`` dropped, spaces to ``-``,
  repeated headings numbered ``-1``, ``-2``.
- README.md is also the project's page on the package index, where relative links break:
  its links are absolute, into https://github.com/regkit-dev/regkit/blob/main/ (or
  /tree/main/ for folders), and those must resolve in the checkout too.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
README = ROOT / "README.md"
REPO = "https://github.com/regkit-dev/regkit/"
#: [text](target) and ![alt](target), not inside code; reference-style [x]: target too.
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans (links there are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # link text only
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set(HTML_ANCHOR.findall(text))
    for match in HEADING.finditer(text):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[str]:
    text = _prose(path.read_text(encoding="utf-8"))
    return INLINE.findall(text) + REFERENCE.findall(text)


def broken(path: Path, target: str) -> str | None:
    """Why a link from `path` does not resolve in the checkout, or None."""
    if target.startswith(REPO):
        rest = target[len(REPO) :]
        kind, _, rest = rest.partition("/")
        if kind not in ("blob", "tree") or not rest.startswith("main/"):
            return "not a blob/main or tree/main address" if kind in ("blob", "tree") else None
        target = "/" + rest[len("main/") :]
    elif re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
        return None  # another site, mailto: ...: not checked offline
    file_part, _, anchor = target.partition("#")
    if file_part.startswith("/"):
        dest = ROOT / unquote(file_part.lstrip("/"))
    elif file_part:
        dest = (path.parent / unquote(file_part)).resolve()
    else:
        dest = path
    if not dest.exists():
        return f"no such file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
    if anchor:
        if dest.is_dir() or dest.suffix != ".md":
            return f"an anchor into {dest.name}, which is not a Markdown page"
        if unquote(anchor) not in anchors(dest):
            return f"no heading #{anchor} in {dest.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_every_docs_link_and_anchor_resolves(page):
    problems = [f"{t}: {why}" for t in links(page) if (why := broken(page, t))]
    assert not problems, f"{page.name}: " + "; ".join(problems)


def test_readme_links_are_absolute_and_resolve():
    targets = links(README)
    assert targets, "README.md has no links to check"
    relative = [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]
    assert not relative, f"relative links break on the package index page: {relative}"
    problems = [f"{t}: {why}" for t in targets if (why := broken(README, t))]
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Raw uint8 images (`include_preprocessing`)", "raw-uint8-images-include_preprocessing"),
        ("Known gaps", "known-gaps"),
        ("Parallel runs (`--jobs`)", "parallel-runs---jobs"),
        ("JAX / torch: what fails?", "jax--torch-what-fails"),
        ("Set up and run", "set-up-and-run"),
    ],
)
def test_slug_follows_github(heading, expected):
    assert slug(heading) == expected


def test_the_checker_catches_a_missing_anchor_and_file(tmp_path):
    page = ROOT / "docs" / "export.md"
    assert broken(page, "backends.md#known-gaps") is None
    assert broken(page, "backends.md#no-such-heading") == (
        "no heading #no-such-heading in docs/backends.md"
    )
    assert broken(page, "nope.md").startswith("no such file")
    assert broken(README, REPO + "blob/main/docs/export.md#measured-agreement") is None
    assert broken(README, REPO + "blob/main/docs/nope.md") == "no such file docs/nope.md"
    assert links_in("see [a](b.md) and `[c](d.md)` and ![i](images/x.png)") == [
        "b.md",
        "images/x.png",
    ]


def links_in(text: str) -> list[str]:
    return INLINE.findall(_prose(text))
