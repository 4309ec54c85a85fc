"""Sans-I/O SIP: bytes and `now` in, bytes and events out; no sockets, no clock.

message (parse/serialize, SipParseError naming the response), uri (URIs, name-addr, Via),
sdp (offer/answer for G.711 + telephone-event), auth (digest MD5/SHA-256, server and client),
transaction (RFC 3261 section 17 with timers A-M), dialog (dialog state, 2xx retransmission),
registrar (bindings with expiry). The asyncio side is ringdesk.switch.
"""
