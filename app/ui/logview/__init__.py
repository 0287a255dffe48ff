"""The log viewer: a sandbox's pane output as lines of text (issue 15).

``ansi`` decodes the raw output (no Qt); ``viewer.LogViewer`` is the widget.
Nothing is imported here, so the decoder can be used without Qt.
"""
