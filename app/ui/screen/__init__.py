"""A sandbox's screen, large: the live picture, the last minute to scrub back
through, a full-size view and saving a PNG.

:mod:`.history` holds the encoded frames (no Qt); :mod:`.view` paints one
picture; :mod:`.full` is the full-size window; :mod:`.pane` puts them together.
"""
