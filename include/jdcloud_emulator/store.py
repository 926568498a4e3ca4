"""SQLite persistence of the whole emulator state (``--state PATH``)."""

from __future__ import annotations

import sqlite3

from include.jdcloud_emulator.models.state import EmulatorState


class StateStore:
    """Keeps one JSON snapshot of the state, rewritten after every change."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT)")
        self._db.commit()

    def load(self) -> EmulatorState | None:
        row = self._db.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        return EmulatorState.model_validate_json(row[0]) if row else None

    def save(self, state: EmulatorState) -> None:
        self._db.execute("INSERT OR REPLACE INTO snapshot (id, state) VALUES (1, ?)", (state.model_dump_json(),))
        self._db.commit()

    def close(self) -> None:
        self._db.close()
