"""Renderers: the intermediate document → HTML/PDF and DOCX. Pure layout, no logic."""
