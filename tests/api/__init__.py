"""API tests against a real `ringdesk serve` (SQLite and PostgreSQL)."""
