"""Golden-file regression of the reference designs (docs/regression.md).

A suite (TOML) lists cases (a card + testbench) and the metrics to check; a
baseline folder stores the expected values as plain text for code review.

- :func:`load_suite` -> :class:`Suite`
- :func:`check_suite` (simulate + compare) -> :class:`Report`; :func:`format_table`,
  :func:`write_junit`
- :func:`update_baseline` (simulate + rewrite) -> :class:`UpdateResult`
- :func:`within_tolerance`: ``|obs - base| <= abs_tol or <= rel_tol * |base|``
"""

from .baseline import Baseline, read_baseline, write_baseline
from .compare import MetricResult, Report, allowed_difference, compare, format_table, summary_line, within_tolerance
from .junit import junit_text, write_junit
from .runner import CaseOutcome, UpdateResult, check_suite, run_cases, update_baseline
from .suite import CaseSpec, MetricSpec, Suite, load_suite

__all__ = [
    "Baseline", "CaseOutcome", "CaseSpec", "MetricResult", "MetricSpec", "Report", "Suite", "UpdateResult",
    "allowed_difference", "check_suite", "compare", "format_table", "junit_text", "load_suite", "read_baseline",
    "run_cases", "summary_line", "update_baseline", "within_tolerance", "write_baseline", "write_junit",
]
