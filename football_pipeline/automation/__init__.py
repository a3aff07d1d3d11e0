"""Jobs, schedules, sensors (serving, freshness) and the freshness checks of the live sources."""
