"""hyasr-space."""
