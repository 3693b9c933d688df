"""followup: compiles per-item YAML sources into the follow-up report (PDF and DOCX).

The folder list is the pipeline, one way only:

* ``frontend/`` — load the YAML with positions, check it (schema, cross-file
  rules, text rules, glyphs);
* ``transforms/`` — numbering → 再掲 → table of contents (order declared in
  ``transforms/__init__``), and preview selection;
* ``document`` — the one intermediate document, its text dump and JSON form;
* ``theme`` — ``layouts/settings.yaml``, the one source of layout facts;
* ``paging/`` — page maps (anchor → printed page) from WeasyPrint or LibreOffice;
* ``writers/`` — html, pdf, docx behind one interface;
* ``output`` — safe paths, all-or-nothing writes;
* ``release`` — the release manifest and ``verify``;
* ``pipeline`` — compile and build; ``cli`` — the command line; ``fmt`` — the formatter;
  ``diagnostics`` — messages as data and their printers.
"""

__version__ = "0.1.0"
