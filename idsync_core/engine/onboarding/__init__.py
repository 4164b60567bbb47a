"""Onboarding a whole tenant: product mappings, match suggestions, ignore rules, bulk linking.

* :mod:`.names` — when two names are the same customer or product (precision before recall);
* :mod:`.mappings` — one decision per SKU: the catalog item it bills as, for every customer;
* :mod:`.ignores` — what is left out of suggestions and of the "revenue found" report, and why;
* :mod:`.suggest` — customer → company, subscription → agreement, resource → catalog item, each
  with its score and reason, only confident ones accepted;
* :mod:`.rows` — the suggestion file a person reviews and edits (JSON or CSV);
* :mod:`.bulk` — linking every accepted row with the rules of one-by-one linking.

The CLI and (later) the web console are thin shells over these functions.
"""
