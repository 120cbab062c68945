"""PolicyError messages: what the README promises a bad value's error says."""
