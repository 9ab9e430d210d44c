"""Files the pages hand over as downloads."""

from __future__ import annotations

from fastapi.responses import Response


def yaml_attachment(text: str, filename: str) -> Response:
    """`text` as a YAML file named `filename` to save (the admin pages' exports)."""
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
