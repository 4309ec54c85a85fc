"""The SIP switch on loopback, driven by small in-test UDP clients."""
