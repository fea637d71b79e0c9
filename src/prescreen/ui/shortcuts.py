"""Keyboard shortcuts of the review tab, from one table: the script the page runs and the line that shows them.

A letter acts only while the review tab shows a detail and the focus is not in a text field (so typing feedback
never triggers one); Ctrl+Enter saves and goes to the next detail from anywhere, text fields included. Arrow
keys move between the choices of a focused radio group on every tab (Gradio's radios do not, by themselves).
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from prescreen.ui.common import esc


class Shortcut(BaseModel):
    key: str  # KeyboardEvent.key, lower case
    does: str  # shown on screen
    radio: str = ""  # elem_id of a radio group: the choice labelled `choice` is picked
    choice: str = ""
    button: str = ""  # elem_id of a button to press
    field: str = ""  # elem_id of a text field to move the focus to


SHORTCUTS = [
    Shortcut(key="c", does="confirm", radio="review-action", choice="Confirm the drafted status"),
    Shortcut(key="o", does="override", radio="review-action", choice="Override it"),
    Shortcut(key="d", does="demonstrated", radio="review-score", choice="Demonstrated"),
    Shortcut(key="n", does="not yet", radio="review-score", choice="Not yet"),
    Shortcut(key="j", does="next", button="review-next"),
    Shortcut(key="k", does="previous", button="review-prev"),
    Shortcut(key="s", does="save", button="review-save"),
    Shortcut(key="f", does="write feedback", field="review-feedback"),
    Shortcut(key="a", does="confirm all read", button="review-bulk-confirm"),
]
SAVE_AND_NEXT = "review-save-next"

SCRIPT = """
<script>
(() => {
  const table = %(table)s;
  const visible = (el) => el && el.offsetParent !== null;
  const typing = (el) => el && el.matches("textarea, select, input:not([type=radio]):not([type=checkbox])");
  function act(s) {
    if (s.button) { const b = document.getElementById(s.button); if (b && !b.disabled) b.click(); return; }
    if (s.field) { document.getElementById(s.field)?.querySelector("textarea, input")?.focus(); return; }
    const group = document.getElementById(s.radio);
    const label = group && [...group.querySelectorAll("label")].find((l) => l.textContent.trim() === s.choice);
    const input = label && label.querySelector("input");
    if (input && !input.disabled) { input.click(); input.focus(); }
  }
  function arrow(e) {  // Gradio names each radio input apart, so browsers do not move between them: we do
    const radio = e.target, forward = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!forward || !radio.matches || !radio.matches("input[type=radio]")) return;
    const block = radio.closest(".block") || radio.parentElement?.parentElement;
    const group = block ? [...block.querySelectorAll("input[type=radio]")] : [];
    const next = group[(group.indexOf(radio) + forward + group.length) %% group.length];
    if (next && !next.disabled) { e.preventDefault(); e.stopPropagation(); next.click(); next.focus(); }
  }
  document.addEventListener("keydown", arrow, true);
  document.addEventListener("click", (e) => {  // a citation's Full page button picks its place below
    const button = e.target.closest && e.target.closest(".ps-open-place");
    if (!button) return;
    const pick = (again) => {
      const input = document.querySelectorAll("#review-place-picker input[type=radio]")[Number(button.dataset.place)];
      if (input) { input.click(); document.getElementById("review-place-box")?.scrollIntoView({ block: "start" }); }
      else if (again) {  // the box is closed (its choices are not on the page): open it, then pick
        document.querySelector("#review-place-box button")?.click(); setTimeout(() => pick(false), 300);
      }
    };
    pick(true);
  });
  document.addEventListener("keydown", (e) => {
    if (!visible(document.getElementById("review-detail-panel"))) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault(); document.getElementById("%(save_next)s")?.click(); return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const s = table.find((x) => x.key === e.key.toLowerCase());
    if (s) { e.preventDefault(); act(s); }
  });
})();
</script>
"""


def script() -> str:
    """The <script> for the page's head (launch(head=...))."""
    table = json.dumps([s.model_dump() for s in SHORTCUTS])
    return SCRIPT % {"table": table, "save_next": SAVE_AND_NEXT}


def help_html() -> str:
    """The shortcuts as one line under the controls."""
    keys = " · ".join(f"<kbd>{esc(s.key.upper())}</kbd> {esc(s.does)}" for s in SHORTCUTS)
    return (f"<p class='ps-small ps-keys' id='review-keys'>Keys: {keys} · <kbd>Ctrl</kbd>+<kbd>Enter</kbd> "
            "save and next. Letters work outside text fields; arrow keys move within a choice.</p>")
