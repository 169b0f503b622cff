"""Who may open a stored evaluation's pages: a signed card link, or the web pages' own rule.

A CDS Hooks card links a stored evaluation's page with a signature over the page's path and an expiry
(netcds.api.signed_links). Such a link opens that evaluation's page, and its timeline and PDF (the page
links them signed with the same expiry, never a later one), without a bearer token, also when
``server.require_token`` closes the stored cases to the web pages. A link that carries a signature is
always checked: one that is malformed, changed, signed for another path or with another key, or expired,
is refused (403, a page naming no patient data) whatever the token setting. Without a signature the
pages keep their rule (:func:`netcds.web.pages.cases_enabled`): open when no token is required, 403
when one is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from netcds.api.signed_links import LinkCheck, LinkSigner, evaluation_path

SUBPAGES = ("", "/timeline", "/pdf")  # an evaluation's page and the pages it links
REFUSED = {
    LinkCheck.EXPIRED: (
        "This link has expired",
        "Links from the EHR's cards to a stored evaluation are valid for a limited time. Open the patient's "
        "chart in the EHR again to get a new link.",
    ),
    LinkCheck.INVALID: (
        "This link is not valid",
        "The link to this page is incomplete, was changed, or was made by another installation or before "
        "the service was restarted. Open the patient's chart in the EHR again to get a new link.",
    ),
}


@dataclass(frozen=True)
class LinkAccess:
    """The verdict on a request's ``exp`` / ``sig``: ``check``, and for a valid link the queries that sign
    the evaluation's pages with the same expiry (suffix -> ``?exp=...&sig=...``)."""

    check: LinkCheck
    signed: Mapping[str, str] = field(default_factory=dict)

    @property
    def refusal(self) -> tuple[str, str] | None:
        return REFUSED.get(self.check)


def link_signer(request: Request) -> LinkSigner | None:
    """The service's signer (None in a web-only app, which issues no links)."""
    signer = getattr(getattr(request.app.state, "netcds", None), "link_signer", None)
    return signer if isinstance(signer, LinkSigner) else None


def evaluation_access(request: Request, evaluation_id: str, subpage: str = "") -> LinkAccess:
    """What the request's signature (if any) says about this page of the stored evaluation."""
    exp, sig = request.query_params.get("exp"), request.query_params.get("sig")
    if exp is None and sig is None:
        return LinkAccess(LinkCheck.MISSING)
    signer = link_signer(request)
    base = evaluation_path(evaluation_id)
    check = signer.check(base + subpage, exp, sig) if signer is not None else LinkCheck.INVALID
    if check is not LinkCheck.VALID or signer is None or exp is None:
        return LinkAccess(check)
    expires = int(exp)
    return LinkAccess(check, {s: "?" + signer.query(base + s, expires) for s in SUBPAGES})
