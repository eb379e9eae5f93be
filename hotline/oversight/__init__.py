"""The dashboard: where tips come from, how fast counties answer, what becomes of the cases, agency
signals and campaign reach, for the secretariat and the auditor (all counties) and focal points
(their own county). Every chart has its table beneath it and a CSV download."""

DASHBOARD_ROLES = ("secretariat", "auditor", "focal_point")


def init_app(app) -> None:
    """The dashboard's pages under /console/dashboard, and its place in the bar."""
    from hotline.accounts.navigation import add_section
    from hotline.oversight import views

    app.register_blueprint(views.bp)
    add_section(app, "oversight.dashboard", "Dashboard", DASHBOARD_ROLES)
