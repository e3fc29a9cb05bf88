"""Reusable widgets: item table model, thumbnails, audio view, charts."""
