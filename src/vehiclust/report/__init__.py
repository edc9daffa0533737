"""The deliverables a person reads: the executed analysis notebook and the HTML report.

Both read only a finished run (:class:`~vehiclust.results.RunResults`), never recompute.
"""

from vehiclust.report._both import write_reports
from vehiclust.report.html import write_html_report
from vehiclust.report.notebook import NotebookExecutionError, build_notebook, write_notebook

__all__ = ["NotebookExecutionError", "build_notebook", "write_html_report", "write_notebook", "write_reports"]
