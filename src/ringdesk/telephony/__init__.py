"""The telephony port's runtime side: how the switch and the rest of Ringdesk meet."""
