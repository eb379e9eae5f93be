"""The audit log page: who signed in, revealed, changed or exported what, for the `auditor` role
(read-only). Entries are written by `hotline.core.audit`."""


def init_app(app) -> None:
    """The audit log page under /console/audit."""
    from hotline.audit import views

    app.register_blueprint(views.bp)
