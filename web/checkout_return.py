"""Where Stripe Checkout sends the learner back: a small page, so the flow never ends on a 404.

It reveals nothing about the top-up (no sign-in needed, no lookup): the balance changes when
Stripe's webhook arrives, and the app reads it over GraphQL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CallFluently: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>{title}</h1><p>{body}</p><p><a href="/graphql">Back to CallFluently</a></p>
</body></html>"""

_OUTCOMES = {
    "success": ("Payment received",
                "Thank you. Your balance is updated as soon as Stripe confirms the payment, "
                "usually within seconds."),
    "cancelled": ("Payment cancelled", "Nothing was charged. You can start a new top-up at "
                  "any time."),
}


async def checkout_return(request: Request) -> HTMLResponse:
    title, body = _OUTCOMES.get(
        request.query_params.get("checkout", ""),
        ("Top-up", "Your balance is shown in the app."),
    )
    return HTMLResponse(_PAGE.format(title=title, body=body),
                        headers={"cache-control": "no-store"})


ROUTES = [Route("/billing/top-ups/{top_up_id}", checkout_return, methods=["GET"])]
