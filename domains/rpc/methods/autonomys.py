"""`autonomys_*` methods: what this project adds to a domain's JSON-RPC.

- `autonomys_registries`: the predeployed registries of this domain (Auto ID, Auto Score, data
  compensation, agents) and the X.509 precompile, by name, each with its address. A registry
  is listed only if the domain's state has code at its fixed address (a genesis may opt out).
"""

from __future__ import annotations

from domains.evm.predeploys import registries_in
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable

table = MethodTable()


@table.method("autonomys_registries")
def registries(ctx: Context) -> dict:
    """{"AutoId": address, ..., "X509Precompile": address} for this domain's head state."""
    return registries_in(ctx.chain.state_at(ctx.chain.head()))
