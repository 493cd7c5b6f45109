"""Where a reader stands in the stream: (segment name, byte offset of the next unread line).

Serialises to a short JSON string such as ``{"segment":"segment-00000003.jsonl","offset":5120}``
because Dagster sensor cursors and run config are strings. ``Cursor()`` (segment None) is the
beginning of the stream; an empty or missing string parses to it. ``SequenceCursor`` is its
sibling for a broker stream (a stream name and a message sequence number).
"""

from __future__ import annotations

import json
import re
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
    def beginning(cls) -> Cursor:
        return cls()

    @property
    def is_beginning(self) -> bool:
        return self.segment is None

    def sort_key(self) -> tuple[int, int]:
        return (segment_sequence(self.segment) if self.segment else 0, self.offset)

    def __lt__(self, other: Cursor) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Cursor) -> bool:
        return self.sort_key() <= other.sort_key()

    def to_string(self) -> str:
        return json.dumps({"segment": self.segment, "offset": self.offset}, separators=(",", ":"))

    @classmethod
    def from_string(cls, text: str | None) -> Cursor:
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


@dataclass(frozen=True)
class SequenceCursor:
    """Where a reader stands in a broker stream (NATS JetStream): after message ``seq`` of ``stream``.

    ``seq`` counts like a byte offset: 0 is the beginning, ``n`` means messages 1..n are behind the
    reader, so ``[a, b)`` holds the messages ``a+1 .. b``. Serialises to ``{"stream":"READINGS","seq":120}``.
    """

    stream: str
    seq: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise ValueError(f"stream sequence must be a non-negative integer, got {self.seq!r}")
        if not isinstance(self.stream, str) or not is_stream_name(self.stream):
            raise ValueError(f"not a stream name: {self.stream!r}")

    @property
    def is_beginning(self) -> bool:
        return self.seq == 0

    def sort_key(self) -> tuple[int, int]:
        return (0, self.seq)

    def _same_stream(self, other: SequenceCursor) -> None:
        if not isinstance(other, SequenceCursor) or other.stream != self.stream:
            raise ValueError(f"cursors of different streams cannot be compared: {self} and {other}")

    def __lt__(self, other: SequenceCursor) -> bool:
        self._same_stream(other)
        return self.seq < other.seq

    def __le__(self, other: SequenceCursor) -> bool:
        self._same_stream(other)
        return self.seq <= other.seq

    def to_string(self) -> str:
        return json.dumps({"stream": self.stream, "seq": self.seq}, separators=(",", ":"))

    @classmethod
    def from_string(cls, text: str) -> SequenceCursor:
        try:
            payload = json.loads(text)
        except (TypeError, ValueError):
            raise ValueError(f"cursor is not JSON: {text!r}") from None
        if not isinstance(payload, dict) or set(payload) != {"stream", "seq"}:
            raise ValueError(f"cursor must have exactly the keys stream and seq: {text!r}")
        return cls(payload["stream"], payload["seq"])

    def __str__(self) -> str:
        return self.to_string()


_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_stream_name(name: str) -> bool:
    """A JetStream stream name we accept: letters, digits, ``_`` and ``-`` (no ``.``, ``*``, ``>``)."""
    return bool(_STREAM_NAME.fullmatch(name))


def cursor_from_string(text: str | None) -> Cursor | SequenceCursor:
    """Either kind of cursor, told apart by its keys; ``None``/``""`` is the folder's beginning."""
    if text and '"stream"' in text:
        return SequenceCursor.from_string(text)
    return Cursor.from_string(text)
