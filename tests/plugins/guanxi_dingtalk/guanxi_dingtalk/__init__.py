"""guanxi-dingtalk: a small third-party guanxi plugin, used by guanxi's own tests of its hooks."""
