"""The directories the secretariat and admins keep in the console: the focal points that SMS routing
notifies, and the organisations cases are referred to."""


def init_app(app) -> None:
    """The directory pages under /console/directory/."""
    from hotline.directory import views

    app.register_blueprint(views.bp)
