"""IDSync provider connector for the Pax8 partner API (see README.md)."""
