"""The case desk: the console's inbox and case pages, where focal points and the secretariat work
each tip from arrival to closure, refer it, and talk with the anonymous reporter."""


def init_app(app) -> None:
    """The inbox and case pages under /console/, and the console's friendly error pages."""
    from hotline.desk import errors, views

    app.register_blueprint(views.bp)
    errors.register(app)
