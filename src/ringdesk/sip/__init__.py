"""ringdesk.sip"""
