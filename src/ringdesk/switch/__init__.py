"""ringdesk.switch"""
