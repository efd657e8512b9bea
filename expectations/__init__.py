"""Great Expectations checks run before every publish (and so before every review)."""
