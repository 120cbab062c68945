"""The alert rules' survivors: tests that pin what the mutants changed."""
