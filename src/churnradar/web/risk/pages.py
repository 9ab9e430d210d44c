"""The high-risk list (filters, search, sort, pages, exports) and owner changes in one click or in bulk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from churnradar import reactions
from churnradar.auth import service as auth_service
from churnradar.config import Settings, WebSettings
from churnradar.customer import service as customer_service
from churnradar.customer.exceptions import OwnerChangeError
from churnradar.customer.schemas import ALL_LEVELS, ANY_LEVEL, RiskFilter
from churnradar.kit.clock import SystemClock
from churnradar.kit.levels import Level
from churnradar.web.cache import TtlCache
from churnradar.web.csrf import require_csrf
from churnradar.web.customers import export
from churnradar.web.deps import PrincipalDep, SessionDep
from churnradar.web.i18n import LEVEL_LABELS, N_, translations
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.risk import panels, service
from churnradar.web.templating import render, request_locale

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add("risk", NavItem("risk", N_("High risk"), "/risk", order=15))
panels.register()
FilterQuery = Annotated[RiskFilter, Query()]
EXTRA_FILTERS = (
    "owner",
    "team",
    "segment",
    "industry",
    "tag",
    "score_min",
    "score_max",
    "probability_min",
    "probability_max",
)
FLASH = "risk_flash"
FLASH_KIND = "risk_flash_kind"  # "error" when the flash says what went wrong

HEADINGS = {
    "customer_id": N_("Customer ID"),
    "name": N_("Name"),
    "level": N_("Level"),
    "health_score": N_("Health score"),
    "health_change": N_("Change"),
    "churn_probability": N_("Churn probability"),
    "open_alerts": N_("Open alerts"),
    "reasons_en": N_("Reasons"),
    "reasons_zh": N_("Reasons"),
    "model_reasons_en": N_("Model reasons"),
    "model_reasons_zh": N_("Model reasons"),
    "owner": N_("Owner"),
    "team": N_("Team"),
    "segment": N_("Segment"),
    "industry": N_("Industry"),
    "as_of": N_("As of"),
}
# Stored values shown translated: levels, alert changes, why an alert is muted.
VALUE_LABELS = (
    *LEVEL_LABELS.values(),
    N_("opened"),
    N_("escalated"),
    N_("deescalated"),
    N_("muted"),
    N_("unmuted"),
    N_("resolved"),
    N_("inhibited"),
    N_("silenced"),
    N_("capped"),
)


def export_columns(locale: str) -> tuple[str, ...]:
    """The exported columns, reasons in the reader's language."""
    zh = locale.startswith("zh")
    reasons, model_reasons = ("reasons_zh", "model_reasons_zh") if zh else ("reasons_en", "model_reasons_en")
    return (
        "customer_id",
        "name",
        "level",
        "health_score",
        "health_change",
        "churn_probability",
        "open_alerts",
        reasons,
        model_reasons,
        "owner",
        "team",
        "segment",
        "industry",
        "as_of",
    )


def _options(request: Request) -> WebSettings:
    options: WebSettings = request.app.state.settings.web
    return options


def page_filter(flt: RiskFilter) -> RiskFilter:
    """The page's filter: without a level chosen, the customers with a warning (`level=all` shows all)."""
    return flt if flt.level is not None else flt.model_copy(update={"level": ANY_LEVEL})


def _context(
    request: Request, principal: PrincipalDep, session: SessionDep, flt: RiskFilter
) -> dict[str, object]:
    flt = page_filter(flt)
    flt = flt.model_copy(update={"per_page": min(flt.per_page, _options(request).max_page_size)})
    rows, total = service.list_risk(session, principal, flt)
    return {
        "rows": rows,
        "total": total,
        "flt": flt,
        "pages": max(1, -(-total // flt.per_page)),
        "headings": HEADINGS,
        "zh": request_locale(request).startswith("zh"),
    }


@router.get("/risk", name="risk")
def risk_list(request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery) -> Response:
    """Customers at risk the user may see; htmx asks for the table alone when a filter changes."""
    context = _context(request, principal, session, flt)
    context["assignees"] = customer_service.assignable_users(session, principal)
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "risk-table":
        return render(request, "risk/_table.html", context, principal=principal)
    cache: TtlCache = request.app.state.cache
    key = ("facets", principal.user_id, principal.role)  # the customer list's filter choices, shared
    context["facets"] = cache.get_or_set(key, lambda: customer_service.facets(session, principal))
    context["tags"] = cache.get_or_set(
        ("risk_tags", principal.user_id, principal.role), lambda: service.risk_tags(session, principal)
    )
    context["levels"] = (ANY_LEVEL, *(level.value for level in reversed(Level)), ALL_LEVELS)
    # A filter beyond search and level in use: a phone shows them all, not only those two.
    context["extra_filters"] = any(getattr(context["flt"], name) is not None for name in EXTRA_FILTERS)
    context["flash"] = request.session.pop(FLASH, None)
    context["flash_kind"] = request.session.pop(FLASH_KIND, None)
    return render(request, "risk/list.html", context, principal=principal)


@router.get("/risk/export.csv", name="risk_csv")
def export_csv(request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery) -> Response:
    """The filtered risk list as CSV (every page, up to the export limit); audited."""
    auth_service.record_export(session, principal, "risk_list", format="csv", filters=flt)
    session.commit()
    locale = request_locale(request)
    catalog = translations(locale)
    rows = service.iter_risk(session, principal, flt, limit=_options(request).export_limit)
    return StreamingResponse(
        export.csv_chunks(rows, lambda c: catalog.gettext(HEADINGS[c]), export_columns(locale)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="high-risk.csv"'},
    )


@router.get("/risk/export.xlsx", name="risk_xlsx")
def export_xlsx(request: Request, principal: PrincipalDep, session: SessionDep, flt: FilterQuery) -> Response:
    """The filtered risk list as an Excel workbook; audited."""
    auth_service.record_export(session, principal, "risk_list", format="xlsx", filters=flt)
    session.commit()
    locale = request_locale(request)
    catalog = translations(locale)
    rows = service.iter_risk(session, principal, flt, limit=_options(request).export_limit)
    return Response(
        export.xlsx_bytes(rows, lambda c: catalog.gettext(HEADINGS[c]), export_columns(locale), "high-risk"),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="high-risk.xlsx"'},
    )


@router.post("/risk/assign", name="risk_assign")
def assign(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    owner: Annotated[str, Form(max_length=200)] = "",
    customer: Annotated[list[int] | None, Form()] = None,
    one: Annotated[int | None, Form()] = None,
    back: Annotated[str, Form(max_length=4000)] = "/risk",
) -> Response:
    """Give the checked customers (or the one whose button was pressed) to `owner`; back to the list."""
    ids = [one] if one is not None else list(dict.fromkeys(customer or []))
    catalog = translations(request_locale(request))
    if not owner.strip():  # back to the list with a message it shows, rather than a browser tooltip
        request.session[FLASH] = catalog.gettext("Choose the person to assign to first, then press Assign.")
        request.session[FLASH_KIND] = "error"
        return RedirectResponse(_safe_back(back), status_code=status.HTTP_303_SEE_OTHER)
    try:
        customers = customer_service.visible_by_ids(session, principal, ids)
        settings: Settings = request.app.state.settings
        results = customer_service.change_owner(
            session,
            principal,
            customers,
            owner,
            events=reactions.dispatcher(settings),
            via="web",
            now=SystemClock().now(),
        )
    except OwnerChangeError as exc:
        session.rollback()
        message = catalog.gettext(exc.msgid) % exc.values
        context = {"message": message, "back": _safe_back(back)}
        return render(request, "risk/refused.html", context, principal=principal, status_code=exc.status_code)
    session.commit()
    request.app.state.cache.clear()  # owners and levels per owner changed
    moved = sum(r.changed for r in results)
    text = catalog.ngettext(
        "%(num)s customer assigned to %(owner)s.", "%(num)s customers assigned to %(owner)s.", moved
    ) % {"num": moved, "owner": owner}
    request.session[FLASH] = text
    return RedirectResponse(_safe_back(back), status_code=status.HTTP_303_SEE_OTHER)


def _safe_back(back: str) -> str:
    """Only back to the risk list on this site (never an open redirect)."""
    return back if back.startswith("/risk") and "//" not in back and "\\" not in back else "/risk"
