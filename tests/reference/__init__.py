"""The readers' code as it was before issue 13's fast paths: the reference the fast paths are proved against."""
