"""Listening events: the stream landing zone turned into ``streams.stream_events``."""
