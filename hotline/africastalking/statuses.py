"""Africa's Talking's status words and codes, and what each means for us.

Send answer (`POST /version1/messaging`), per recipient: a `statusCode` and its `status` name. 100
Processed, 101 Sent (named "Success" in the answer), 102 Queued (with `enqueue=1`) mean AT took the
message; 401 RiskHold, 402 InvalidSenderId, 405 InsufficientBalance, 407 CouldNotRoute and the 5xx
(500 InternalServerError, 501 GatewayError, 502 RejectedByGateway) are worth trying again later; 403
InvalidPhoneNumber, 404 UnsupportedNumberType, 406 UserInBlacklist and 409 DoNotDisturbRejection will
never reach the number. Some integrations (and older API versions) answer a recipient with
`status: "Success"` and a `messageId` but no `statusCode`: the name then stands for its code.

Delivery report `status`: Sent, Submitted and Buffered may still change; Success (delivered),
Failed, Rejected and Expired are final; AbsentSubscriber is not final (another report may follow)
but counts as a failure in a campaign's funnel. `failureReason` comes
with Failed and Rejected: one of `FAILURE_REASONS`, among them UserInBlackList (sic, a capital L,
unlike the send answer's UserInBlacklist), after which the number must get no more bulk SMS.

`networkCode` is the mobile network's MCC and MNC: 63902 Safaricom, 63903 Airtel Kenya, 99999 AT's
sandbox. USSD end-of-session `status`: Success (we ended it), Incomplete (the phone left), Failed.
"""

from __future__ import annotations

# Per-recipient status codes of the send answer, by AT's name for each.
STATUS_NAMES = {
    100: "Processed",
    101: "Sent",
    102: "Queued",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
ACCEPTED = {100, 101, 102}  # Processed, Sent, Queued
# Worth trying again later: the account, the route or AT itself.
RETRY_LATER = {401, 402, 405, 407, 500, 501, 502}
# Will never reach this number: record and act on it.
UNDELIVERABLE = {403, 404, 406, 409}
# A recipient's `status` name, for an answer that carries no `statusCode`: AT calls 101 "Success".
CODES_BY_NAME = {name: code for code, name in STATUS_NAMES.items()} | {"Success": 101}
AT_OWN_FAILURE = 500  # what an unreadable recipient entry counts as: tried again later

# Delivery report statuses.
DELIVERY_STATUSES = (
    "Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed", "AbsentSubscriber", "Expired",
)
DELIVERED = "Success"
FINAL = frozenset({"Success", "Failed", "Rejected", "Expired"})
# Reported by AT, the message will not arrive (AbsentSubscriber included: the phone was off too long).
FAILED = frozenset({"Rejected", "Failed", "AbsentSubscriber", "Expired"})
FAILURE_REASONS = (
    "InsufficientCredit", "InvalidLinkId", "UserIsInactive", "UserInBlackList", "UserAccountSuspended",
    "NotNetworkSubcriber", "UserNotSubscribedToProduct", "UserDoesNotExist", "DeliveryFailure",
    "DoNotDisturbRejection",
)
BLACKLISTED = "UserInBlackList"

NETWORK_NAMES = {"63902": "Safaricom", "63903": "Airtel Kenya", "99999": "sandbox"}

# USSD end-of-session statuses.
SESSION_SUCCESS, SESSION_INCOMPLETE, SESSION_FAILED = "Success", "Incomplete", "Failed"
