"""The visible text of an HTML page an issuer sent instead of JSON (oauth.errors.page_summary).

Its own module so that html.parser is imported only when such a page arrives, not at every
login's start-up.
"""

from __future__ import annotations

from html.parser import HTMLParser


class PageText(HTMLParser):
    """The `<title>` and the visible text lines of a page (script, style and head skipped)."""

    SKIP = frozenset({"script", "style", "head", "noscript", "template"})
    BREAKS = frozenset(
        {
            "br",
            "p",
            "div",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "li",
            "tr",
            "section",
            "header",
            "footer",
            "main",
            "article",
            "pre",
            "table",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.text: list[str] = []
        self._in_title = False
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self.SKIP:
            self._skipping += 1
        if tag in self.BREAKS:
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP and self._skipping:
            self._skipping -= 1
        if tag in self.BREAKS:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self.text.append(data)
