"""The report side of the suite: it renders results (and the gate's verdict), never measures.

`views` builds the tables every output shows; `html` (jinja2 + matplotlib SVG via
`charts`), `markdown` and `terminal` (rich) render them; `gate_text` renders the gate's
verdict as plain text; `write` writes a report from loaded runs (`vts report`, `vts bench`);
`browser` checks a written page in headless Chromium.
"""
