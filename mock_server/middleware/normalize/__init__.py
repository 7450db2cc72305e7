"""The one normalisation step: legacy Flowdock client requests -> the contract's canonical form.

Real clients (docs/flowdock.md §1.1, §1.2, §8) send requests the contract never described: a ``/v1`` or
``/v2`` prefix, ``//flows``, ``/users/``, ``/flows.json``; PATCH for PUT; form-encoded or multipart
bodies where the contract takes JSON; every parameter in the query string of a POST with an empty
body and no Content-Type (go-flowdock); filters as a JSON body on a GET (flowdock-api-wrapper);
``tags`` as a comma string; booleans as ``1``/``0``/``"true"``; ``null`` for optional fields; and
``?access_token=`` for ``Authorization: Bearer``. This pipeline stage runs before routing and
validation and rewrites each of those onto the form the spec declares, so validation
and handlers only ever see canonical requests.

Every rewrite has a rule name (``mock_server.errors.RULE_*``). The names applied to a request go in
``scope["flowdock"]["normalizations"]`` and a readable line per contract breach in
``scope["flowdock"]["violations"]`` (the journal and the coverage report read both). In strict mode
a request that needs any rule but ``access-token`` is refused with 400 in Flowdock's error shape,
naming the rule, so a user checking a client's conformance sees every deviation.

The package is split by what it normalises: ``paths`` (the path and the method), ``query`` (the
query string), ``bodies`` (the body, whatever its media type), ``values`` (one value's JSON type:
booleans, tags, numbers), over ``spec_index`` (what the contract says of each operation);
``stage`` runs them in order over one request. The spec is indexed once (``SpecIndex``): which operation a path and method reach, which parameters
are query parameters, and the type of each body property. Per request the work is a header scan, a
dict lookup or a few regex matches, and body parsing only when a body is present.
"""

from mock_server.middleware.normalize.spec_index import SpecIndex
from mock_server.middleware.normalize.stage import Normalize

__all__ = ["Normalize", "SpecIndex"]
