"""A sandbox's screen, large: the live picture and the last minute to scrub back through."""
