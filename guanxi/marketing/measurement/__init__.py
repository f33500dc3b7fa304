"""Measuring what a campaign or a journey caused: control groups, attribution and uplift.

* :mod:`.holdout` — who is held out: a seeded hash of (scope, customer), the
  same set on every run, machine and wave.
* :mod:`.attribution` — in the warehouse: each exposed or held-out customer's
  purchases within the attribution window, per arm; and last-touch attribution
  of purchases to the latest send before them.
* :mod:`.uplift` — the statistics: conversion rates target vs control, their
  difference with a confidence interval (statsmodels), incremental orders and
  revenue, and A/B variants compared the same way.

Purchases and revenue are :mod:`guanxi.measures`' (a paid order with a
positive net amount, its net amount), so a campaign's revenue is the revenue
the dashboard and the models count.
"""
