"""ringdesk.media"""
