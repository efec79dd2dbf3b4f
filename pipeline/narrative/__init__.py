"""Drafted sentences from the marts: phrases, sentences, headlines."""
