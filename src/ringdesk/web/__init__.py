"""ringdesk.web"""
