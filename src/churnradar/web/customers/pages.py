"""Customer list (filters, search, sort, pages, exports) and the customer 360 page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from churnradar.auth import service as auth_service
from churnradar.config import WebSettings
from churnradar.customer import fields as custom_fields
from churnradar.customer import service
from churnradar.customer.schemas import CustomerFilter
from churnradar.lake.timeline import Timeline
from churnradar.web.cache import TtlCache
from churnradar.web.csrf import require_csrf
from churnradar.web.customers import export
from churnradar.web.customers import service as page_service
from churnradar.web.deps import PrincipalDep, SessionDep
from churnradar.web.i18n import N_, translations
from churnradar.web.nav import NavItem, nav_items, visible_sections
from churnradar.web.templating import render, request_locale

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add("customers", NavItem("customers", N_("Customers"), "/customers", order=20))
FilterQuery = Annotated[CustomerFilter, Query()]
EVENTS_PER_PAGE = 25

# Column headings of the list and the exports, translated where shown.
HEADINGS = {
    "customer_id": N_("Customer ID"),
    "name": N_("Name"),
    "owner": N_("Owner"),
    "team": N_("Team"),
    "segment": N_("Segment"),
    "industry": N_("Industry"),
    "tier": N_("Tier"),
    "status": N_("Status"),
    "signup_date": N_("Signed up"),
}
# Stored values shown translated: customer status, import status, roles.
VALUE_LABELS = (
    N_("active"),
    N_("churned"),
    N_("succeeded"),
    N_("rejected"),
    N_("admin"),
    N_("director"),
    N_("manager"),
    N_("rep"),
)


def _options(request: Request) -> WebSettings:
    options: WebSettings = request.app.state.settings.web
    return options


def _timeline_context(found: Timeline, *, page: int, kind: str | None) -> dict[str, Any]:
    return {
        "events": [service.event_read(e) for e in found.events],
        "events_total": found.total,
        "events_page": page,
        "events_pages": max(1, -(-found.total // EVENTS_PER_PAGE)),
        "kinds": found.kinds,
        "kind": kind,
    }


@router.get("/customers", name="customers")
def customer_list(
    request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery
) -> Response:
    """The customers the user may see; htmx asks for the table alone when a filter changes."""
    flt = flt.model_copy(update={"per_page": min(flt.per_page, _options(request).max_page_size)})
    rows, total = service.list_customers(session, principal, flt)
    context = {
        "rows": rows,
        "total": total,
        "flt": flt,
        "pages": max(1, -(-total // flt.per_page)),
        "headings": HEADINGS,
    }
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "customer-table":
        return render(request, "customers/_table.html", context, principal=principal)
    cache: TtlCache = request.app.state.cache
    key = ("facets", principal.user_id, principal.role)
    context["facets"] = cache.get_or_set(key, lambda: service.facets(session, principal))
    context["custom_filters"] = custom_fields.filterable(session, principal)
    return render(request, "customers/list.html", context, principal=principal)


@router.get("/customers/export.csv", name="customers_csv")
def export_csv(request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery) -> Response:
    """The filtered list as CSV (every page, up to the export limit)."""
    auth_service.record_export(session, principal, "customers", format="csv", filters=flt)
    session.commit()
    catalog = translations(request_locale(request))
    rows = service.iter_customers(session, principal, flt, limit=_options(request).export_limit)
    return StreamingResponse(
        export.csv_chunks(rows, lambda c: catalog.gettext(HEADINGS[c])),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


@router.get("/customers/export.xlsx", name="customers_xlsx")
def export_xlsx(request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery) -> Response:
    """The filtered list as an Excel workbook."""
    auth_service.record_export(session, principal, "customers", format="xlsx", filters=flt)
    session.commit()
    catalog = translations(request_locale(request))
    rows = service.iter_customers(session, principal, flt, limit=_options(request).export_limit)
    return Response(
        export.xlsx_bytes(rows, lambda c: catalog.gettext(HEADINGS[c])),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="customers.xlsx"'},
    )


@router.get("/customers/{customer_id}", name="customer")
def customer_page(
    request: Request, principal: PrincipalDep, session: SessionDep, customer_id: int
) -> Response:
    """Customer 360 for a manager: why the customer is at risk (the signals that fired against its own
    baseline, the probability and its reasons), what has been done and what to do next, then the profile,
    contracts, invoices, the indicators by family (collapsed) and the events timeline."""
    customer = service.visible(session, principal, customer_id)
    view = service.customer_360(session, principal, customer, events=EVENTS_PER_PAGE)
    indicators = page_service.indicator_rows(view.series)
    context = {
        "customer": view.customer,
        "indicators": indicators,
        "families": page_service.family_groups(indicators),
        "next_step": page_service.next_step(session, customer.id),
        "zh": request_locale(request).startswith("zh"),
        **_timeline_context(view.timeline, page=1, kind=None),
        "headings": HEADINGS,
        "custom": custom_fields.custom_profile(session, principal, customer),
        "sections": [
            (section, section.load(session, principal, customer)) for section in visible_sections(principal)
        ],
    }
    return render(request, "customers/detail.html", context, principal=principal)


@router.get("/customers/{customer_id}/events", name="customer_events")
def customer_events(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """One page of the events timeline (an htmx fragment, or a page of its own without JavaScript)."""
    customer = service.visible(session, principal, customer_id)
    kind = kind or None
    found = service.timeline(session, customer, page=page, per_page=EVENTS_PER_PAGE, kind=kind)
    context = {"customer_id": customer.id, **_timeline_context(found, page=page, kind=kind)}
    fragment = request.headers.get("hx-request") == "true"
    template = "customers/_events.html" if fragment else "customers/events_page.html"
    return render(request, template, context, principal=principal)
