"""The duty desk: what officers use (terminal feed, web console, reports)."""
