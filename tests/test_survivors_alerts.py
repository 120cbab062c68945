"""Alerts: placeholder.
