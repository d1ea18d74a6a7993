"""Languages: the seeded language table and the rules that assign each spot a language."""
