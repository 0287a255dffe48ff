"""The desktop app's Qt widgets, models and dialogs. Only this package imports Qt."""
