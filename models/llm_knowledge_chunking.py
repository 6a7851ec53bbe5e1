"""Text of knowledge sources cut into chunks that follow the document's structure.

Pure Python (lxml only): a document is first read into :class:`Section` s (a heading path, a
page, a record), then each section is cut into token-sized pieces with an overlap, never
across two sections, so every chunk can cite where it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import html as lxml_html

# About four characters per token (see engine.tokens.estimate_tokens).
CHARS_PER_TOKEN = 4
CHUNK_TOKENS = 350
OVERLAP_TOKENS = 40
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HTML_BLOCKS = {"p", "li", "td", "th", "pre", "blockquote", "dt", "dd", "caption"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Section:
    """A part of a document with one heading path and one page (0: no pages)."""

    text: str
    heading: str = ""
    page: int = 0


@dataclass(frozen=True)
class Piece:
    text: str
    heading: str = ""
    page: int = 0


def markdown_sections(text: str, page: int = 0) -> list[Section]:
    """Sections of Markdown (or plain text, which has one): a ``#`` heading starts one, and
    its heading path keeps the enclosing headings, e.g. ``Returns > Refunds``."""
    sections, path, lines = [], [], []

    def close():
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, " > ".join(title for _level, title in path), page))
        lines.clear()

    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            close()
            level = len(match.group(1))
            path = [(lv, title) for lv, title in path if lv < level] + [(level, match.group(2))]
        else:
            lines.append(line)
    close()
    return sections


def html_sections(markup: str) -> list[Section]:
    """Sections of an HTML page: each ``h1``-``h6`` starts one; paragraphs, list items and
    table cells become lines; scripts and styles are dropped."""
    if not markup.strip():
        return []
    root = lxml_html.fromstring(markup)
    for bad in root.xpath("//script|//style|//noscript|//template|//title"):
        bad.drop_tree()
    sections, path, lines = [], [], []

    def close():
        body = "\n".join(line for line in lines if line).strip()
        if body:
            sections.append(Section(body, " > ".join(title for _lv, title in path)))
        lines.clear()

    def walk(element):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _HTML_HEADINGS:
            close()
            level = _HTML_HEADINGS[tag]
            title = " ".join(element.text_content().split())
            path[:] = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            return
        if tag in _HTML_BLOCKS:
            lines.append(" ".join(element.text_content().split()))
            return
        if element.text and element.text.strip():
            lines.append(" ".join(element.text.split()))
        for child in element:
            walk(child)
            if child.tail and child.tail.strip():
                lines.append(" ".join(child.tail.split()))

    walk(root)
    close()
    return sections


def page_sections(text: str) -> list[Section]:
    """Sections of extracted PDF text: pages are separated by form feeds (``\\f``, as
    pdfminer writes them), numbered from 1."""
    sections = []
    for number, page in enumerate(text.split("\f"), start=1):
        sections.extend(Section(s.text, s.heading, number) for s in markdown_sections(page))
    return sections


def chunk_sections(sections: list[Section], max_tokens: int = CHUNK_TOKENS,
                   overlap_tokens: int = OVERLAP_TOKENS) -> list[Piece]:
    """Each section cut into pieces of at most ``max_tokens``, paragraphs kept whole when
    they fit; a piece starts with the last ``overlap_tokens`` of the one before it in the
    same section, so a sentence cut at a boundary is whole in one of them."""
    limit = max_tokens * CHARS_PER_TOKEN
    overlap = overlap_tokens * CHARS_PER_TOKEN
    pieces = []
    for section in sections:
        units = []
        for paragraph in re.split(r"\n\s*\n", section.text):
            units.extend(_split_long(paragraph.strip(), limit))
        current = ""
        for unit in filter(None, units):
            if current and len(current) + 2 + len(unit) > limit:
                pieces.append(Piece(current, section.heading, section.page))
                current = _tail(current, overlap)
                if len(current) + 2 + len(unit) > limit:
                    current = ""  # no room for an overlap before this unit
            current = f"{current}\n\n{unit}" if current else unit
        if current:
            pieces.append(Piece(current, section.heading, section.page))
    return pieces


def _split_long(paragraph: str, limit: int) -> list[str]:
    """A paragraph longer than ``limit`` cut at sentence ends, then at spaces."""
    if len(paragraph) <= limit:
        return [paragraph]
    parts, current = [], ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            parts.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > limit:
            parts.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        parts.append(current)
    return parts


def _tail(text: str, size: int) -> str:
    """The last ``size`` characters of ``text``, starting at a word."""
    if size <= 0 or len(text) <= size:
        return "" if size <= 0 else text
    tail = text[-size:]
    space = tail.find(" ")
    return tail[space + 1:] if 0 <= space < size // 2 else tail
