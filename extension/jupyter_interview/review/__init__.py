"""Review: a room's recorded history turned into a timeline, the notebook at any moment, and
diffs between moments; the signals the candidate's page records."""
