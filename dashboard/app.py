"""The dashboard entry point: `panel serve dashboard/app.py`."""

import panel as pn

pn.extension()

pn.Column(
    "# Timetabler",
    "The dashboard is being built. Use `python -m solver` from the command line meanwhile.",
).servable(title="Timetabler")
