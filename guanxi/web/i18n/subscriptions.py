"""Words of the public subscription pages (退订、确认订阅), in both languages, kept beside each other.

These pages are read by customers, not by users of guanxi: short sentences, no product words.
"""

from __future__ import annotations

ZH_CN: dict[str, str] = {
    "subscriptions.unsubscribe_title": "退订邮件",
    "subscriptions.unsubscribe_intro": "确认后，{address} 将不再收到我们的营销邮件。",
    "subscriptions.unsubscribe_sms_intro": "确认后，{address} 将不再收到我们的营销短信。",
    "subscriptions.unsubscribe_note": "订单、物流等交易通知不受影响。",
    "subscriptions.unsubscribe_button": "确认退订",
    "subscriptions.already_unsubscribed": "这个地址已经退订。",
    "subscriptions.unsubscribed_title": "已退订",
    "subscriptions.unsubscribed_body": "{address} 已退订，不会再收到我们的营销消息。",
    "subscriptions.unsubscribed_short": "已退订。",
    "subscriptions.confirmed_title": "订阅已确认",
    "subscriptions.confirmed_body": "谢谢！{address} 的订阅已确认。",
    "subscriptions.invalid_title": "链接无效",
    "subscriptions.invalid_body": "这个链接不完整或已损坏。请从邮件中重新打开完整的链接。",
    "subscriptions.expired_title": "链接已过期",
    "subscriptions.expired_body": "确认链接 7 天内有效，这个已经过期。请重新订阅，我们会再发一封确认邮件。",
}

EN: dict[str, str] = {
    "subscriptions.unsubscribe_title": "Unsubscribe",
    "subscriptions.unsubscribe_intro": "Once you confirm, {address} will no longer receive our marketing e-mails.",
    "subscriptions.unsubscribe_sms_intro": "Once you confirm, {address} will no longer receive our marketing SMS.",
    "subscriptions.unsubscribe_note": "Order and delivery notices are not affected.",
    "subscriptions.unsubscribe_button": "Unsubscribe",
    "subscriptions.already_unsubscribed": "This address is already unsubscribed.",
    "subscriptions.unsubscribed_title": "Unsubscribed",
    "subscriptions.unsubscribed_body": "{address} is unsubscribed and will receive no more marketing messages.",
    "subscriptions.unsubscribed_short": "Unsubscribed.",
    "subscriptions.confirmed_title": "Subscription confirmed",
    "subscriptions.confirmed_body": "Thank you! The subscription of {address} is confirmed.",
    "subscriptions.invalid_title": "This link is not valid",
    "subscriptions.invalid_body": "The link is incomplete or damaged. Open the whole link from the e-mail again.",
    "subscriptions.expired_title": "This link has expired",
    "subscriptions.expired_body": "A confirmation link works for 7 days and this one has expired. "
    "Subscribe again and we will send a new confirmation e-mail.",
}
