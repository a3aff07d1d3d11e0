"""Jobs (and, as the product grows, schedules and sensors)."""
