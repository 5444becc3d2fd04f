"""First-party keras-zoo plugins; each module registers through the public hooks."""
