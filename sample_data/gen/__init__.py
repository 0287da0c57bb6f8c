"""Generators for sample_data/: the fictional Lumen Lamps web site, books and support chats (see generate.py)."""
