"""Peers for trying the demo with nothing else installed: a customer's phone and a trunk."""
