"""Views of results: terminal tables, heatmaps and HTML pages (they only read typed results)."""
