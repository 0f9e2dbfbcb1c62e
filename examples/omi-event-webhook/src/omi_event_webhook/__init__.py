"""Signed HTTP webhooks for OMI memory events, with retries and a dead-letter file"""

from omi_event_webhook.handler import WebhookHandler

__all__ = ["WebhookHandler"]
__version__ = "0.1.0"
