"""Backend ``marketplace``: the Ingram Micro Cloud Marketplace API (research notes §2d)."""
