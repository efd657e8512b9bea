"""Agency extracts into the append-only ledger: registry, readers, mapping, ledger, loader."""
