"""Africa's Talking at the edge: every AT field name, status code and status word lives here.

- `forms`: the USSD screen and end-of-session forms (`UssdRequest`, `UssdSessionEnded`), the
  `CON`/`END` answer, and builders of the same forms for `flask ussd dial`;
- `sms_forms`: the incoming SMS, opt-out and delivery-report forms (`IncomingSms`, `OptOut`,
  `DeliveryReport`);
- `gateway`: the send call through the official SDK (premium replies with their `linkId`) and
  its answer (`RecipientResult`);
- `statuses`: AT's per-recipient status codes, delivery statuses, failure reasons, network codes;
- `webhooks`: the token check, plain answers, and Flask's own errors answered as AT expects.

Features get the dataclasses and the named constants, never a field name. The simulator keeps
its own copy of these tables on purpose (it plays AT)."""


def init_app(app) -> None:
    """The HTTP edge of every callback (see `webhooks`)."""
    from hotline.africastalking import webhooks

    webhooks.init_app(app)
