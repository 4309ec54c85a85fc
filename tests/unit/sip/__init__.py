"""Unit tests of the sans-I/O SIP stack."""
