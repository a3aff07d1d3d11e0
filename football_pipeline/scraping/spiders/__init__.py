"""One spider per source: football_data, understat, fbref."""
