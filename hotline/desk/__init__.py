"""The case desk: the console's inbox and case pages, where focal points and the secretariat work
each tip from arrival to closure, refer it, and talk with the anonymous reporter. (Error pages are
the console's own, from `hotline.accounts.protection`.)"""


def init_app(app) -> None:
    """The inbox and case pages under /console/."""
    from hotline.desk import views

    app.register_blueprint(views.bp)
