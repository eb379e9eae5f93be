"""Africa's Talking at the edge: its callback forms parsed into small dataclasses, the webhook token
check, the USSD `CON`/`END` answer, the SMS send call through the SDK, and AT's status tables.
Features never see an AT field name."""


def init_app(app) -> None:
    """The HTTP edge of every callback (see `webhooks`)."""
    from hotline.africastalking import webhooks

    webhooks.init_app(app)
