"""The report: one builder fed by the event stream, the what-if comparison, and its renderers (terminal, HTML)."""
