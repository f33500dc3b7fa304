"""Errors of the marketing delivery path, all :class:`~guanxi.errors.GuanxiError` subclasses.

    GuanxiError
    └── MarketingError              marketing_error
        ├── DeliveryError           delivery_failed        a channel could not deliver
        │   ├── TransientDeliveryError  delivery_transient     try again later (timeout, 5xx, 4xx SMTP reply)
        │   └── PermanentDeliveryError  delivery_permanent     never retried (bad address, 4xx HTTP, 5xx SMTP)
        ├── ChannelUnknownError     channel_unknown        no channel of that name is registered (permanent)
        ├── StepKindUnknownError    step_kind_unknown      no journey-step handler for a kind (permanent)
        ├── StepPayloadError        step_payload_invalid   a journey step lacks what its kind needs (permanent)
        ├── TriggerKindUnknownError trigger_kind_unknown   a journey names a trigger kind no plugin registers (HTTP 422, permanent)
        ├── TriggerOutputError      trigger_output_invalid a trigger's query does not return entries (HTTP 500, permanent)
        └── TemplateError           template_invalid       a template (HTTP 422) cannot be compiled or rendered (permanent)

Unless marked, they answer HTTP 400.

Each error says whether retrying can help through :attr:`MarketingError.permanent`;
the queue sends a permanent failure to ``dead`` at once and retries the others
with back-off. Specific causes keep their own codes (``smtp_recipient_refused``,
``webhook_http_4xx``, ``template_undefined``, ``template_unsafe`` …) passed as ``code=``.
"""

from __future__ import annotations

from guanxi.errors import GuanxiError


class MarketingError(GuanxiError):
    code = "marketing_error"
    permanent = False
    """True when the same attempt can never succeed, so retrying is pointless."""


class DeliveryError(MarketingError):
    code = "delivery_failed"


class TransientDeliveryError(DeliveryError):
    code = "delivery_transient"


class PermanentDeliveryError(DeliveryError):
    code = "delivery_permanent"
    permanent = True


class ChannelUnknownError(MarketingError):
    code = "channel_unknown"
    permanent = True


class StepKindUnknownError(MarketingError):
    code = "step_kind_unknown"
    permanent = True


class StepPayloadError(MarketingError):
    code = "step_payload_invalid"
    permanent = True


class TriggerKindUnknownError(MarketingError):
    code = "trigger_kind_unknown"
    http_status = 422
    permanent = True


class TriggerOutputError(MarketingError):
    """A plugin's trigger query is broken: a fault of the installation, not of the request."""

    code = "trigger_output_invalid"
    http_status = 500
    permanent = True


class TemplateError(MarketingError):
    code = "template_invalid"
    http_status = 422
    permanent = True


def is_permanent(err: BaseException) -> bool:
    """Whether ``err`` marks a failure that no retry can fix (only marketing errors can)."""
    return isinstance(err, MarketingError) and err.permanent
