"""Ingram Micro Cloud Marketplace / Odin (CloudBlue Commerce) provider connector for IDSync."""
