"""`vts history`: per cell, the trend of its figures commit by commit, and where they step.

`git` reads the baseline's versions from the repository, `series` puts those versions,
results files and measured commits in one order per cell, and `steps` says where a trend
moved. The report renders them (`vts.suite.report.history_text`, `history_html`).
"""
