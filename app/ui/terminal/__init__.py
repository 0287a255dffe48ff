"""A terminal widget over a pyte screen: emulator (no Qt), keys, rendering, the widget."""
