"""ringdesk.store"""
