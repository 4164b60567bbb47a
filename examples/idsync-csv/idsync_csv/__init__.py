"""IDSync provider connector for seat counts exported as CSV (see README.md)."""
