"""Alerts: rules and mutes, the outbox, message rendering and delivery channels."""
