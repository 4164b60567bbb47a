"""The console's pages, one module each; :mod:`idsync_core.web.app` routes to them."""
