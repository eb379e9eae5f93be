"""SMS that reach the service: the inbound, opt-out and delivery-report webhooks, keyword intake
(tips, follow-up, ACK, agency checks, join and leave) and the SMS reply texts."""


def init_app(app) -> None:
    """The `/sms/…` webhooks."""
    from hotline.sms import views

    app.register_blueprint(views.bp)
