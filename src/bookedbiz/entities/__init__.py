"""Entities: customers, agencies, AEs, markets and their aliases."""
