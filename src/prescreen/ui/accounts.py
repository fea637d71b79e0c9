"""The accounts tab (leads only): every account with its role, and a form to create one, an earner's above all.

The service checks the lead again on every call (ReviewService.add_account / accounts), so the tab being
hidden from other roles is a convenience, not the protection. A password is typed once here and handed to
the new user out of band; it is never shown back or logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from prescreen.review.accounts import MIN_PASSWORD, ROLES
from prescreen.review.workflow import ReviewService, UserView
from prescreen.ui.common import current_user, esc, notice, table, ui_errors

ROLE_CHOICES = [(role.capitalize(), role) for role in sorted(ROLES, key=lambda r: r != "earner")]


@dataclass
class AccountsTab:
    load: object
    outputs: list


def accounts_table(users: list[UserView]) -> str:
    rows = [[esc(u.username), esc(u.role), esc(u.display_name)] for u in users]
    return table(["Username", "Role", "Display name"], rows)


def build(service: ReviewService) -> AccountsTab:
    gr.Markdown("Create the accounts people sign in with. Give each new person their password yourself; "
                "they can't change it here yet.")
    with gr.Row(equal_height=True):
        username = gr.Textbox(label="Username", max_length=64, scale=2)
        display_name = gr.Textbox(label="Display name (optional)", max_length=120, scale=2)
        role = gr.Dropdown(ROLE_CHOICES, value="earner", label="Role", scale=1)
        password = gr.Textbox(label=f"Password (at least {MIN_PASSWORD} characters)", type="password",
                              max_length=200, scale=2)
    create = gr.Button("Create account", variant="primary")
    status = gr.HTML("")
    listing = gr.HTML("")

    @ui_errors
    def load_accounts(request: gr.Request):
        return accounts_table(service.accounts(current_user(service, request).username))

    @ui_errors
    def create_account(name: str, shown: str, chosen: str, secret: str, request: gr.Request):
        lead = current_user(service, request).username
        user = service.add_account(lead, name.strip(), secret, chosen, shown.strip())
        done = notice(f"Created {user.username} ({user.role}).", "ok")
        return done, accounts_table(service.accounts(lead)), "", ""

    create.click(create_account, [username, display_name, role, password], [status, listing, username, password])
    return AccountsTab(load=load_accounts, outputs=[listing])
