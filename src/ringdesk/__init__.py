"""Ringdesk: a self-hosted contact center with an embedded SIP switch."""

__version__ = "0.1.0"
