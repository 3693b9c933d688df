"""followup: compiles per-item YAML sources into the follow-up report (PDF and DOCX).

Pipeline, one way only: ``loader`` (YAML with positions) → ``validate`` (pydantic
models and cross-file rules) → ``resolve`` (numbering, 再掲, table of contents)
→ ``document`` (the one intermediate document) → ``render`` (HTML/PDF, DOCX).
"""

__version__ = "0.1.0"
