"""The CSV example connector passes the conformance suite, as its own test file runs it.

The example's ``tests/test_csv_conformance.py`` holds the configuration a connector author
writes; this runs that very file in an inner pytest, so the core's test run proves the example
passes, and that a connector without HTTP gets exactly the HTTP checks skipped, with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE_TEST = (Path(__file__).parents[1] / "examples" / "idsync-csv" / "tests"
                / "test_csv_conformance.py")
HTTP_CHECKS = {"test_retry_after_is_honoured", "test_429_without_retry_after_is_backed_off",
               "test_server_errors_on_reads_are_retried",
               "test_html_page_instead_of_json_is_an_api_error",
               "test_html_error_page_is_retried_like_any_5xx",
               "test_a_refused_token_is_renewed_once",
               "test_a_token_is_replaced_before_it_expires"}


def test_the_csv_example_passes_the_suite(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDSYNC_LOAD_PLUGINS", raising=False)
    recorder = pytester.inline_run(str(EXAMPLE_TEST), "-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert failed == []
    names = {report.nodeid.split("::")[-1] for report in passed}
    assert {"test_listings_are_complete_across_pages", "test_ids_are_stable_between_reads",
            "test_bad_settings_are_a_configuration_error", "test_unknown_ids_are_not_found",
            "test_search_finds_accounts_by_name",
            "test_resources_belong_to_their_subscription", "test_quantities_read_as_seeded",
            "test_statuses_read_as_seeded", "test_prices_and_costs_read_as_seeded"} <= names
    assert {report.nodeid.split("::")[-1]: report.longrepr[2] for report in skipped} == {
        name: "Skipped: csv is exercised without HTTP (SuiteConfig.settings), so HTTP-level "
              "checks do not apply" for name in HTTP_CHECKS}
