"""Records of the same person across agencies linked into one stable, pseudonymised identity."""
