"""The live read side: the JSON every screen shows (REST answers and WebSocket messages alike)
and the per-user numbered feeds that carry it. It reads only what it is given (LiveSources):
engine views, the configuration snapshot, read-only database sessions and a clock."""
