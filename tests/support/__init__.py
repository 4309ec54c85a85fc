"""Helpers the test suites share: a real server subprocess, a throwaway PostgreSQL."""
