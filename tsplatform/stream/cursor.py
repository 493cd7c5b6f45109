"""Where a reader stands in the stream: (segment name, byte offset of the next unread line).

Serialises to a short JSON string such as ``{"segment":"segment-00000003.jsonl","offset":5120}``
because Dagster sensor cursors and run config are strings. ``Cursor()`` (segment None) is the
beginning of the stream; an empty or missing string parses to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tsplatform.stream.segments import is_segment_name, segment_sequence


@dataclass(frozen=True)
class Cursor:
    segment: str | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise ValueError(f"cursor offset must be a non-negative integer, got {self.offset!r}")
        if self.segment is None:
            if self.offset:
                raise ValueError("the beginning cursor has offset 0")
        elif not isinstance(self.segment, str) or not is_segment_name(self.segment):
            raise ValueError(f"not a segment name: {self.segment!r}")

    @classmethod
    def beginning(cls) -> "Cursor":
        return cls()

    @property
    def is_beginning(self) -> bool:
        return self.segment is None

    def sort_key(self) -> tuple[int, int]:
        return (segment_sequence(self.segment) if self.segment else 0, self.offset)

    def __lt__(self, other: "Cursor") -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: "Cursor") -> bool:
        return self.sort_key() <= other.sort_key()

    def to_string(self) -> str:
        return json.dumps({"segment": self.segment, "offset": self.offset}, separators=(",", ":"))

    @classmethod
    def from_string(cls, text: str | None) -> "Cursor":
        """Parse ``to_string`` output; ``None`` or ``""`` mean the beginning. Raises ValueError."""
        if not text:
            return cls()
        try:
            payload = json.loads(text)
        except ValueError:
            raise ValueError(f"cursor is not JSON: {text!r}") from None
        if not isinstance(payload, dict) or set(payload) != {"segment", "offset"}:
            raise ValueError(f"cursor must have exactly the keys segment and offset: {text!r}")
        return cls(payload["segment"], payload["offset"])

    def __str__(self) -> str:
        return self.to_string()
