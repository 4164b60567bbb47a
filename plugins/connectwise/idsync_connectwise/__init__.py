"""ConnectWise Manage (ConnectWise PSA) connector for IDSync."""
