"""The review interface: settings -> ReviewService -> the Gradio app, behind a login, on a local port.

    python app.py            # http://127.0.0.1:7860 (PRESCREEN_UI_PORT to change it); or `prescreen serve`
"""

import os
import sys

from prescreen.errors import PrescreenError
from prescreen.review.workflow import ReviewService
from prescreen.settings import Settings
from prescreen.ui import serve

if __name__ == "__main__":
    try:
        service = ReviewService.from_settings(Settings())
    except PrescreenError as exc:
        sys.exit(f"prescreen: {exc}")
    serve(service, port=int(os.environ.get("PRESCREEN_UI_PORT", "7860")))
