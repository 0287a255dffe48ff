"""A sandbox's screen, large: the live picture, the last minute to scrub back
through, a full-size view and saving a PNG.

:mod:`.history` holds the encoded frames (no Qt); :mod:`.view` paints one
picture; :mod:`.wish` says the frame width wanted; :mod:`.bar` is the row
under the picture; :mod:`.full` the full-size window; :mod:`.saving` writes
PNGs off the GUI thread; :mod:`.pane` puts them together (``ScreenPane``).
"""
