"""ringdesk.telephony"""
