"""Autotask PSA connector for IDSync."""
