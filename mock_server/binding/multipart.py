"""Connexion's multipart body validator, made to close the uploads it parses.

Connexion validates a multipart body by parsing the form itself (Starlette's MultiPartParser) and
then only looks at which fields are files; the UploadFile objects it built are never closed, so
each upload leaves a spooled temporary file for the garbage collector (a ResourceWarning, an error
under the test suite's ``-W error``). The handler's own copy of the part is read and closed by the
store (mock_server/store/files.py). This wraps whatever validator map the app uses.
"""

from __future__ import annotations

from typing import Any

from connexion.validators import MultiPartFormDataValidator
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser


class ClosingMultiPartParser(MultiPartParser):
    """Parses like Starlette, then closes every file part: validation needs only the names."""

    async def parse(self) -> FormData:
        form: FormData = await super().parse()
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.close()
        return form


def closing_uploads(validators: dict[str, Any]) -> dict[str, Any]:
    """The same validator map, its multipart body validators using ``ClosingMultiPartParser``."""
    body = validators["body"]
    for media_type, base in list(body.items()):
        if isinstance(base, type) and issubclass(base, MultiPartFormDataValidator):
            body[media_type] = type(
                base.__name__, (base,), {"_form_parser_cls": property(lambda self: ClosingMultiPartParser)}
            )
    return validators
