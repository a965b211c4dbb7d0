"""The dashboard entry point: `panel serve dashboard/app.py`. It only wires the pieces together."""

import panel as pn

from dashboard.pages.classes import ClassesPage
from dashboard.pages.generate import GeneratePage
from dashboard.pages.importer import ImportPage
from dashboard.pages.jobs import JobsPage
from dashboard.pages.lessons import LessonsPage
from dashboard.pages.overview import OverviewPage
from dashboard.pages.rooms import RoomsPage
from dashboard.pages.rules import RulesPage
from dashboard.pages.school import SchoolPage
from dashboard.pages.subjects import SubjectsPage
from dashboard.pages.teachers import TeachersPage
from dashboard.pages.timetables import TimetablesPage
from dashboard.progress import ProgressIndicator
from dashboard.services import get_jobs, get_store
from dashboard.shell import Shell
from dashboard.state import AppState, report_unexpected

pn.extension("tabulator", notifications=True, exception_handler=report_unexpected)

PAGES = {
    "overview": lambda app: OverviewPage(app=app),
    "school": lambda app: SchoolPage(app=app),
    "subjects": lambda app: SubjectsPage(app=app),
    "teachers": lambda app: TeachersPage(app=app),
    "classes": lambda app: ClassesPage(app=app),
    "rooms": lambda app: RoomsPage(app=app),
    "lessons": lambda app: LessonsPage(app=app),
    "rules": lambda app: RulesPage(app=app),
    "generate": lambda app: GeneratePage(app=app),
    "timetables": lambda app: TimetablesPage(app),
    "jobs": lambda app: JobsPage(app=app),
    "import": lambda app: ImportPage(app=app),
}

app = AppState(get_store(), get_jobs())
if pn.state.location is not None:
    pn.state.location.sync(app, {"page": "page", "school": "school", "focus": "focus", "version": "version"})
shell = Shell(PAGES, app=app)
indicator = ProgressIndicator(app=app)
pn.state.onload(indicator.start)
if pn.state.notifications is not None:
    # Toasts go top right, clear of the progress card at the bottom right.
    pn.state.notifications.position = "top-right"

pn.template.FastListTemplate(
    title="Timetabler",
    sidebar=shell.sidebar(),
    main=[shell],
    header=[indicator],
    accent="#2f6f9f",
    sidebar_width=250,
).servable()
