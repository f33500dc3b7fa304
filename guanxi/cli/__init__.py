"""Command line: parse, call a service, print."""
