"""Data quality: Pandera schemas, row quarantine, named checks and per-match quality scores."""
