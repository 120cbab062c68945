"""The report: one builder fed by the event stream, and its renderers (terminal, HTML)."""
