"""Analysis reads: the export of responses and focus groups (more to come)."""
