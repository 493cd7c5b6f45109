"""Reading HTML pages as a browser would see their text and links (the standard library's parser)."""

from __future__ import annotations

from html.parser import HTMLParser


class PageParts(HTMLParser):
    """Links (``a href``), scripts (``script src``) and the cell texts of each table by its id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "script" and attributes.get("src"):
            self.scripts.append(attributes["src"])
        elif tag == "table":
            self._table = attributes.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parts(text: str) -> PageParts:
    parser = PageParts()
    parser.feed(text)
    return parser


def rows_by_first_cell(text: str, table: str) -> dict[str, list[str]]:
    """The body rows of ``table`` keyed by their first cell's text (header row left out)."""
    return {row[0]: row for row in parts(text).tables[table][1:]}
