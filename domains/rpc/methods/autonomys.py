"""`autonomys_*` methods: what this project adds to a domain's JSON-RPC.

- `autonomys_registries`: the predeployed registries of this domain (Auto ID, Auto Score, data
  compensation, agents) and the X.509 precompile, by name, each with its address. A registry
  is listed only if the domain's state has code at its fixed address (a genesis may opt out).
"""

from __future__ import annotations

from domains.evm.precompiles import X509_PRECOMPILE_ADDRESS
from domains.evm.predeploys import predeploy_addresses
from domains.rpc import formatting as fmt
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable

table = MethodTable()


@table.method("autonomys_registries")
def registries(ctx: Context) -> dict:
    """{"AutoId": address, ..., "X509Precompile": address} for this domain's head state."""
    state = ctx.chain.state_at(ctx.chain.head())
    found = {name: address for name, address in predeploy_addresses().items()
             if state.get_code(bytes.fromhex(address[2:]))}
    found["X509Precompile"] = fmt.address(X509_PRECOMPILE_ADDRESS)
    return found
