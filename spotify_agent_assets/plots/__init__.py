"""Charts for asset metadata, as Markdown with an embedded SVG image (no plotting library)."""
