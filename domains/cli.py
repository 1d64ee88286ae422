"""The `autonomys` command: composes a node from the layers and runs it.

Subcommands:
  dev       run the dev network in one process: Proof-of-Time, a farmer, the consensus node,
            the EVM domain's operator, and the JSON-RPC gateway (HTTP + WebSocket) with the
            dev signer on; domain blocks come from consensus blocks that carry bundles
  rpc       serve an existing data directory over JSON-RPC without producing blocks
  import    import a concatenated RLP block file into a new data directory
  export    write a data directory's canonical blocks as a concatenated RLP file
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from domains.evm.chain import DomainChain, DomainError, InvalidBlock
from domains.evm.genesis import (
    DEV_CHAIN_ID,
    DEV_GAS_LIMIT,
    DEV_MNEMONIC,
    GenesisError,
    dev_accounts,
    dev_genesis,
    load_genesis_json,
)

log = logging.getLogger("autonomys")

#: Chain ids of live Autonomys EVM networks: a dev network must not reuse them.
LIVE_CHAIN_IDS = frozenset({870, 8700, 490000})


def default_base_path(name: str) -> Path:
    """Where a node keeps its data unless told otherwise: $XDG_DATA_HOME/autonomys/<name>."""
    root = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(root) / "autonomys" / name


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from chain.block import InvalidBlock as InvalidConsensusBlock
    from chain.farmer import FarmError
    from chain.runtime.state import StateError
    from chain.store import StoreError
    from domains.devnet import DataDirError
    from domains.operator import OperatorError

    try:
        return args.func(args)
    except (DomainError, GenesisError, InvalidBlock, InvalidConsensusBlock, FarmError, StoreError, StateError,
            DataDirError, OperatorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a data file or directory that cannot be read or made: str() names it
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autonomys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command", required=True)
    from domains.auto_id import add_auto_id_parser

    add_auto_id_parser(sub)

    dev = sub.add_parser("dev", help="run the dev network (consensus chain + farmer + EVM domain + JSON-RPC gateway)")
    _rpc_args(dev)
    dev.add_argument("--base-path", type=Path, help=f"data directory (default {default_base_path('dev')})")
    dev.add_argument("--tmp", action="store_true", help="use a throw-away data directory, deleted on exit")
    dev.add_argument("--chain-id", type=int, default=DEV_CHAIN_ID, help=f"chain id of a new dev domain (default {DEV_CHAIN_ID})")
    dev.add_argument("--gas-limit", type=int, default=DEV_GAS_LIMIT, help=f"block gas limit of a new dev domain (default {DEV_GAS_LIMIT:,})")
    dev.add_argument("--genesis", type=Path, help="a geth-style genesis.json for a new domain instead of the dev genesis")
    dev.add_argument("--sectors", type=int, default=1,
                     help="sectors the farmer plots (default 1; each is a slot-winning chance, so more sectors "
                          "mean more frequent consensus blocks)")
    dev.add_argument("--no-operator", action="store_true",
                     help="run without the domain's operator: no bundles, so domain transactions wait in the pool "
                          "(the consensus chain still runs)")
    dev.add_argument("--no-dev-signer", action="store_true", help="switch off eth_sendTransaction / eth_sign for the dev accounts")
    dev.set_defaults(func=cmd_dev)

    rpc = sub.add_parser("rpc", help="serve an existing data directory over JSON-RPC, producing no blocks")
    _rpc_args(rpc)
    rpc.add_argument("--base-path", type=Path, required=True, help="data directory to serve")
    rpc.set_defaults(func=cmd_rpc)

    imp = sub.add_parser("import", help="import an RLP block file into a new data directory")
    imp.add_argument("--genesis", type=Path, required=True, help="geth-style genesis.json of the chain")
    imp.add_argument("--blocks", type=Path, required=True, help="concatenated RLP blocks (as `autonomys export` or geth export write)")
    imp.add_argument("--base-path", type=Path, required=True, help="data directory to create")
    imp.add_argument("--skip-seal-check", action="store_true",
                     help="don't verify proof-of-work seals of pre-merge blocks (test chains such as hive's carry fake ones); "
                          "everything else is still validated")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write canonical blocks as a concatenated RLP file")
    exp.add_argument("--base-path", type=Path, required=True, help="data directory to read")
    exp.add_argument("--output", "-o", type=Path, required=True, help="file to write")
    exp.add_argument("--from", dest="first", type=int, default=1, help="first block (default 1)")
    exp.add_argument("--to", dest="last", type=int, help="last block (default: head)")
    exp.set_defaults(func=cmd_export)
    return parser


def _rpc_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rpc-port", type=int, default=8545, help="JSON-RPC HTTP + WebSocket port (default 8545)")
    p.add_argument("--rpc-host", default="127.0.0.1", help="interface to listen on (default loopback)")
    p.add_argument("--rpc-external", action="store_true", help="listen on all interfaces (0.0.0.0)")
    p.add_argument("--rpc-cors", default="*", help="comma-separated allowed origins (default *)")


# -- dev -------------------------------------------------------------------------------------

def cmd_dev(args: argparse.Namespace) -> int:
    from domains.devnet import DevNetConfig, DevNetwork

    if args.chain_id in LIVE_CHAIN_IDS:
        print(f"error: chain id {args.chain_id} belongs to a live Autonomys network; pick another for a dev network",
              file=sys.stderr)
        return 2
    if args.sectors < 1:
        print("error: --sectors must be at least 1", file=sys.stderr)
        return 2
    tmp_dir = None
    if args.tmp:
        tmp_dir = Path(tempfile.mkdtemp(prefix="autonomys-dev-"))
        base = tmp_dir
    else:
        base = args.base_path or default_base_path("dev")
    genesis = (load_genesis_json(args.genesis) if args.genesis
               else dev_genesis(chain_id=args.chain_id, gas_limit=args.gas_limit, timestamp=int(time.time())))
    try:
        network = DevNetwork(DevNetConfig(base_path=base, domain_genesis=genesis, sectors=args.sectors,
                                          dev_signer=not args.no_dev_signer, operator=not args.no_operator,
                                          out=lambda line: print(line, flush=True)))
        try:
            _print_banner(args, base, network)
            network.start()
            _serve(network.domain_node, args, dev_signer=not args.no_dev_signer, consensus=network.node)
        finally:
            network.close()
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return 0


def _print_banner(args, base: Path, network) -> None:
    chain = network.domain_chain
    head = chain.head()
    best = network.node.best_header()
    host = "0.0.0.0" if args.rpc_external else args.rpc_host
    lines = [
        "Autonomys dev network",
        f"  data:         {base}{'  (temporary)' if args.tmp else ''}",
        f"  consensus:    {network.params.name} preset, genesis 0x{network.genesis_hash.hex()}, best #{best.number}",
        f"  farmer:       0x{network.farmer_signer.public_key.hex()} ({args.sectors} sector(s) in {base / 'farm'})",
        f"  EVM domain:   chain id {chain.chain_id} (0x{chain.chain_id:x}), head #{head.block_number}, "
        f"gas limit {head.gas_limit:,}",
        f"  operator:     0x{network.operator_signer.public_key.hex()}",
        f"  JSON-RPC:     http://{host}:{args.rpc_port}   WebSocket: ws://{host}:{args.rpc_port}",
        "  blocks:       one domain block per consensus block that carries bundles (no timer)",
    ]
    from domains.evm.predeploys import registries_in

    registries = registries_in(chain.state_at(head))
    if registries:
        lines.append("  registries (RPC: autonomys_registries):")
        lines += [f"    {name:<17} {address}" for name, address in registries.items()]
    if not args.no_dev_signer:
        lines.append(f"  dev accounts (mnemonic \"{DEV_MNEMONIC}\"), 10,000 ETH each at genesis:")
        for i, (address, key) in enumerate(dev_accounts()):
            lines.append(f"    ({i}) {address}  0x{key.hex()}")
        lines.append("  These keys are public. Never use them on a live network.")
    print("\n".join(lines), flush=True)


def _serve(node, args, *, dev_signer: bool, consensus=None) -> None:
    from domains.rpc.server import build_app, serve

    host = "0.0.0.0" if args.rpc_external else args.rpc_host
    origins = tuple(o.strip() for o in args.rpc_cors.split(",") if o.strip())
    app = build_app(node, dev_signer=dev_signer, cors_origins=origins, consensus=consensus)
    serve(app, host=host, port=args.rpc_port)


# -- rpc -------------------------------------------------------------------------------------

def cmd_rpc(args: argparse.Namespace) -> int:
    from domains.evm.node import DomainNode

    path = _domain_path(args.base_path)
    chain = DomainChain.open(path)
    node = DomainNode(chain, produces_blocks=False)
    head = chain.head()
    print(f"serving {path} (chain id {chain.chain_id}, head #{head.block_number}) without producing blocks", flush=True)
    try:
        _serve(node, args, dev_signer=False)
    finally:
        chain.close()
    return 0


def _domain_path(base: Path) -> Path:
    """A data directory may be given as the node's base path or as the domain's own."""
    nested = base / "domains" / "0"
    return nested if (nested / "data.mdb").exists() else base


# -- import / export ---------------------------------------------------------------------------

def cmd_import(args: argparse.Namespace) -> int:
    from domains.evm.blockfile import import_blocks

    genesis = load_genesis_json(args.genesis)
    if args.skip_seal_check:
        genesis = dataclasses.replace(genesis, forks=dataclasses.replace(genesis.forks, seal="none"))
    if (args.base_path / "data.mdb").exists() or (args.base_path / "domains" / "0" / "data.mdb").exists():
        print(f"error: {args.base_path} already holds a domain; import needs a new directory", file=sys.stderr)
        return 2
    chain = DomainChain.create(_domain_path(args.base_path), genesis)
    try:
        count = import_blocks(chain, args.blocks, progress=_progress)
        head = chain.head()
        print(f"\nimported {count} blocks; head #{head.block_number} 0x{head.hash.hex()}")
    finally:
        chain.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from domains.evm.blockfile import export_blocks

    chain = DomainChain.open(_domain_path(args.base_path))
    try:
        count = export_blocks(chain, args.output, first=args.first, last=args.last, progress=_progress)
        print(f"\nexported {count} blocks to {args.output}")
    finally:
        chain.close()
    return 0


def _progress(done: int, total: int | None, what: str) -> None:
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    else:
        sys.stderr.write(f"\r{what} {done}")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
