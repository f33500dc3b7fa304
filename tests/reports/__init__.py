"""Tests of guanxi.reports."""
