"""Signed HTTP webhooks for OMI memory events, with retries and a dead-letter file."""

from omi_event_webhook.handler import (
    DeliveryError,
    RedeliveryResult,
    WebhookHandler,
)
from omi_event_webhook.handler import (
    __version__ as __version__,
)
from omi_event_webhook.signing import InvalidSignature, sign, verify_signature

__all__ = ["DeliveryError", "InvalidSignature", "RedeliveryResult", "WebhookHandler", "sign",
           "verify_signature"]
