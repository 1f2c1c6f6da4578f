"""Tests for the pure stream-ingestion logic (spotify_agent_assets.streams)."""
