"""The settings of a CSV export connection (``[providers.NAME]`` with ``plugin = "csv"``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from idsync_core.settings import ConnectorSettings


class CsvSettings(ConnectorSettings):
    path: Path = Field(description="A CSV file, or a directory whose *.csv files are all read "
                                   "(in name order). Relative paths start at the working "
                                   "directory.")
    delimiter: str = Field(default=",", min_length=1, max_length=1,
                           description='The cell separator: "," or ";" (Excel in locales '
                                       'that write decimal commas) or "\\t".')
    encoding: str = Field(default="utf-8-sig",
                          description="The files' text encoding; the default also accepts "
                                      "the byte-order mark Excel writes.")
    strict: bool = Field(default=False,
                         description="Refuse the whole export when any row is bad, instead of "
                                     "skipping the bad rows and reporting them.")
