"""The runtime: one asyncio loop holding the engine, the store, the switch and the feeds, wired
by `Runtime` (runtime.py) around the `Pipeline` (pipeline.py) every input goes through."""

from ringdesk.runtime.runtime import Runtime

__all__ = ["Runtime"]
