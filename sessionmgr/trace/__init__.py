"""Traces and logs in: the canonical codec, one reader per input format, the follower, scrub."""
