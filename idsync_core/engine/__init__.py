"""The engine: linking, pricing, effective dates, planning and exactly-once posting.

Data flows one way: connectors read → :mod:`planning` builds the changes that bring a PSA line
equal to the provider → :mod:`posting` journals each intent, posts it and journals the outcome.
"""
