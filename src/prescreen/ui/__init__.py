"""The review interface (Gradio): assembles the tabs, one module each, over a ReviewService.

Queue (assessors and leads) · Review (assessors) · Lead (leads) · Audit (leads; computed when opened) · My work
(earners: ui/earner.py). Which tabs a user sees follows their role; every action checks the role again, so
hiding a tab is a convenience, not the protection.
"""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from prescreen.errors import PrescreenError
from prescreen.review.workflow import ReviewService
from prescreen.ui import accounts, audit, earner, lead, queue, review, shortcuts
from prescreen.ui.common import AUTH_MESSAGE, current_user, esc, make_auth, ui_errors
from prescreen.ui.gate import RoleGate

TITLE = "prescreen · assessor review"
THEME = gr.themes.Default(primary_hue="blue", secondary_hue="slate")
CSS = """
.ps-title { margin: 0 0 .2rem 0; font-size: 1.35rem; }
.ps-meta { margin: .1rem 0; color: var(--body-text-color-subdued); }
.ps-dim, .ps-where { color: var(--body-text-color-subdued); font-size: .92em; }
.ps-small { font-size: .85em; color: var(--body-text-color-subdued); white-space: pre-wrap; }
.ps-empty { color: var(--body-text-color-subdued); font-style: italic; padding: .5rem 0; }
.ps-badge { display: inline-block; padding: 0 .45em; border-radius: .6em; font-size: .85em; font-weight: 600;
            border: 1px solid currentColor; white-space: nowrap; }
.ps-evidenced, .ps-demonstrated, .ps-earned, .ps-final { color: #166534; }
.ps-weak, .ps-in_review, .ps-adjudication, .ps-awaiting_assignment { color: #92400e; }
.ps-missing, .ps-not_yet, .ps-not_yet_earned, .ps-incomplete, .ps-returned, .ps-disputed { color: #b91c1c; }
.ps-none { color: var(--body-text-color-subdued); border-color: transparent; }
.ps-detail h3 { margin: .2rem 0; }
.ps-detail h4 { margin: 1rem 0 .3rem 0; font-size: 1rem; }
.ps-detail-text { font-size: 1.05em; font-weight: 500; }
.ps-rationale { border-left: 3px solid var(--border-color-primary); padding-left: .6rem; }
.ps-cite { margin: .4rem 0 .8rem 0; }
.ps-cite figcaption { font-size: .9em; margin-bottom: .2rem; }
.ps-cite blockquote { margin: 0; padding: .5rem .7rem; background: var(--background-fill-secondary);
                      border-left: 3px solid #2563eb; white-space: pre-wrap; line-height: 1.45; }
.ps-cite mark { background: #fde68a; color: #111827; padding: 0 .1em; }
.ps-self { padding: .4rem .7rem; border: 1px dashed var(--border-color-primary); border-radius: .4rem;
           margin-bottom: .4rem; }
.ps-self p { margin: .2rem 0; }
.ps-issues li { color: #92400e; }
.ps-flags summary { cursor: pointer; font-weight: 600; }
.ps-table { border-collapse: collapse; width: 100%; font-size: .92em; margin: .4rem 0; }
.ps-table, .ps-table thead, .ps-table tbody, .ps-table tr { border: none !important; }
.ps-table th, .ps-table td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important;
                             padding: .25rem .4rem; text-align: left; vertical-align: top; }
.ps-pre { white-space: pre-wrap; }
.ps-frame table, .ps-frame td, .ps-frame th, .ps-frame span { font-family: var(--font) !important; }
.ps-table th { font-weight: 600; color: var(--body-text-color-subdued); }
.ps-bar { align-items: flex-end !important; }
.ps-bar > button { margin-bottom: var(--block-padding, 8px); }
.ps-reasons { margin: .3rem 0; }
.ps-notice { margin: .3rem 0; padding: .35rem .6rem; border-radius: .4rem; }
.ps-notice-ok { background: #dcfce7; color: #14532d; }
.ps-notice-warn, .ps-warning { background: #fef3c7; color: #78350f; }
.ps-warning { padding: .5rem .8rem; border-radius: .4rem; margin: .4rem 0; }
.ps-controls { position: sticky; top: .5rem; align-self: flex-start; }
.ps-final-result { margin-top: .8rem; }
.ps-keys kbd { border: 1px solid var(--border-color-primary); border-radius: .25rem; padding: 0 .3em; font-size: .9em; }
:focus-visible { outline: 3px solid #2563eb !important; outline-offset: 2px; }
"""


def build_app(service: ReviewService) -> gr.Blocks:
    # uploaded bundles hold earners' work: Gradio's copies are deleted after an hour
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True, delete_cache=(3600, 3600)) as app:
        with gr.Row(equal_height=True):
            whoami = gr.Markdown("", elem_id="whoami")
            gr.Button("Sign out", link="/logout", size="sm", scale=0, min_width=110, elem_id="sign-out")
        with gr.Tabs() as tabs:
            with gr.Tab("Queue", id="queue", visible=False) as queue_page:  # shown on load, to all but earners
                q = queue.build(service)
            with gr.Tab("Review", id="review", visible=False) as review_page:
                r = review.build(service)
            with gr.Tab("Lead", id="lead", visible=False) as lead_page:
                ld = lead.build(service)
            with gr.Tab("Audit", id="audit", visible=False) as audit_page:  # leads only, filled when opened
                au = audit.build(service)
            with gr.Tab("My work", id="earner", visible=False) as earner_page:
                ea = earner.build(service)
            with gr.Tab("Accounts", id="accounts", visible=False) as accounts_page:  # leads only
                ac = accounts.build(service)

        @ui_errors
        def on_load(request: gr.Request):
            user = current_user(service, request)
            line = f"**prescreen** · signed in as **{esc(user.display_name or user.username)}** ({user.role})"
            earner_only = user.role == "earner"  # an earner sees their own work, never the queue
            is_lead = user.role == "lead"
            return (line, gr.Tab(visible=user.role == "assessor"), gr.Tab(visible=is_lead), gr.Tab(visible=is_lead),
                    gr.Tab(visible=not earner_only), gr.Tab(visible=earner_only), gr.Tab(visible=is_lead),
                    gr.Tabs(selected="earner" if earner_only else "queue"))

        @ui_errors
        def route(submission, request: gr.Request):
            """Opening a queue row: assessors go to the review tab, leads to the lead tab."""
            if submission is None:
                raise gr.Error("Choose a submission first.")
            if current_user(service, request).role == "lead":
                return gr.Tabs(selected="lead"), gr.skip(), submission
            return gr.Tabs(selected="review"), submission, gr.skip()

        pages = [review_page, lead_page, audit_page, queue_page, earner_page, accounts_page]
        (app.load(on_load, None, [whoami, *pages, tabs])
         .success(q.load, None, q.outputs).success(r.choices, None, r.picker).success(ld.load, None, ld.outputs)
         .success(ea.load, None, ea.outputs))
        targets = [tabs, r.picker, ld.picker]
        for opened in (q.open_button.click(route, [q.picker], targets),
                       q.table.select(queue.picked_row, None, q.picker).success(route, [q.picker], targets)):
            opened.success(r.show, [r.picker], r.outputs).success(ld.show, [ld.picker], ld.outputs)
        queue_page.select(q.load, None, q.outputs)
        review_page.select(r.choices, None, r.picker)
        audit_page.select(au.load, None, au.outputs, api_name="load_audit")  # the audit's queries run only here
        accounts_page.select(ac.load, None, ac.outputs)
    hide_api(app)
    return app.queue(default_concurrency_limit=8)  # people work at once; the service is thread-safe


def hide_api(app: gr.Blocks) -> None:
    """No handler is an API endpoint: none listed in /gradio_api/info, none callable by name (the page calls
    them through the queue, and each checks the user's role; ui.gate refuses the named-call routes)."""
    for fn in app.fns.values():
        fn.api_visibility = "private"


def role_of(service: ReviewService):
    """username -> role, None for a user the service does not know (any more)."""

    def lookup(username: str) -> str | None:
        try:
            return service.user(username).role
        except PrescreenError:
            return None

    return lookup


def launch_options(service: ReviewService) -> dict:
    """What `launch()` needs besides the port: the login backed by the service, the role gate over Gradio's
    routes, no monitoring, and the look."""
    gate = Middleware(RoleGate, role_of=role_of(service))  # uploads: leads and earners only
    return dict(auth=make_auth(service), auth_message=AUTH_MESSAGE, server_name="127.0.0.1", theme=THEME, css=CSS,
                head=shortcuts.script(), footer_links=["settings"], enable_monitoring=False,
                app_kwargs={"middleware": [gate]})


def serve(service: ReviewService, port: int) -> None:
    """Warm the de-identifier (so the first assessor page does not wait for it), mask the submissions in review
    ahead in the background, then serve the app."""
    from prescreen.review.deidentify import warm_up

    warm_up()
    service.warm_in_background()
    build_app(service).launch(server_port=port, **launch_options(service))
