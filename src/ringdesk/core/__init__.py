"""ringdesk.core"""
