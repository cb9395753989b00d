"""Interview rooms: the room database, link tokens, templates, and their HTTP handlers."""
