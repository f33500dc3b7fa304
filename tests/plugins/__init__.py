"""Tests of the plugin hooks with a real plugin package installed (guanxi_dingtalk/)."""
