"""The landing-zone sensor's cursor: which file versions it has already turned into runs.

A high-water mark on modification time plus the paths seen at exactly that time: constant size
whatever the zone holds, and a file rewritten in place (new mtime) counts as new again. Files
that arrive with an mtime older than the mark (copied with ``cp -p``, say) are not seen; the
hourly ingestion schedule, which rebuilds today's partition from the whole zone, covers them
for current days.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from spotify_agent_assets.streams.landing_index import LandingFile


@dataclass(frozen=True)
class LandingCursor:
    mtime_ns: int = -1
    paths_at_mark: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_json(cls, text: str | None) -> LandingCursor:
        """An empty or unreadable cursor starts over (every file is new): safe, since runs
        are idempotent."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            return cls(int(raw["mtime_ns"]), frozenset(str(p) for p in raw["paths"]))
        except (ValueError, KeyError, TypeError):
            return cls()

    def to_json(self) -> str:
        return json.dumps({"mtime_ns": self.mtime_ns, "paths": sorted(self.paths_at_mark)})

    def is_new(self, file: LandingFile) -> bool:
        if file.mtime_ns != self.mtime_ns:
            return file.mtime_ns > self.mtime_ns
        return file.path not in self.paths_at_mark

    def new_files(self, files: Iterable[LandingFile]) -> list[LandingFile]:
        return sorted(f for f in files if self.is_new(f))

    def advanced(self, files: Iterable[LandingFile]) -> LandingCursor:
        """The cursor after these (new) files were handled."""
        files = list(files)
        if not files:
            return self
        mark = max(self.mtime_ns, *(f.mtime_ns for f in files))
        at_mark = {f.path for f in files if f.mtime_ns == mark}
        if mark == self.mtime_ns:
            at_mark |= self.paths_at_mark
        return LandingCursor(mark, frozenset(at_mark))
