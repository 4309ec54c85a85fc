"""Well-formed messages the tests start from (and the fuzzer mutates)."""

INVITE = (
    b"INVITE sip:5550100@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc-1;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Dana" <sip:5551234@127.0.0.1:5070>;tag=from1\r\n'
    b"To: <sip:5550100@127.0.0.1>\r\n"
    b"Call-ID: call-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:5551234@127.0.0.1:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 144\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=dana 1 1 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 0 101\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\n"
)

REGISTER = (
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-reg-1\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:1001@ringdesk.local>;tag=r1\r\n"
    b"To: <sip:1001@ringdesk.local>\r\n"
    b"Call-ID: reg-1@127.0.0.1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:1001@127.0.0.1:5071>\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKout1\r\n"
    b"From: <sip:ringdesk@ringdesk.local>;tag=a\r\n"
    b"To: <sip:1001@ringdesk.local>;tag=b\r\n"
    b"Call-ID: out-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)
