"""`autonomys auto-id` end to end against the running dev network (the `dev_node` fixture).

The subcommands run in-process through `domains.auto_id.main(argv)` (what `autonomys auto-id`
runs once domains/cli.py wires `add_auto_id_parser`), sending from a fresh account funded by
dev account 9. The flow: new (root key + self-signed certificate), new + issue (a leaf for
another key, and one from a CSR), register, show, link-address, revoke, renew, deactivate,
and rejections printed with their reasons.
"""

from __future__ import annotations

import json
import re

import pytest
from cryptography.hazmat.primitives import serialization

from domains import auto_id as aid
from tests.test_auto_id import BOB, fund_fresh_account


@pytest.fixture(scope="module")
def sender_key(dev_node) -> str:
    return "0x" + fund_fresh_account(dev_node.url).hex()


def run(capsys, *argv) -> tuple[int, str]:
    code = aid.main(["auto-id", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def on_chain(capsys, dev_node, sender_key, command, *argv) -> tuple[int, dict]:
    code, out = run(capsys, command, "--rpc-url", dev_node.url, "--from-key", sender_key, "--json", *argv)
    return code, json.loads(out)


def test_auto_id_command_end_to_end(dev_node, sender_key, tmp_path, capsys):
    # new: a root key (P-256) and its self-signed certificate
    code, out = run(capsys, "new", "CLI Root", "--key-type", "p256", "--out", str(tmp_path), "--name", "root")
    assert code == 0
    root_id = re.search(r"auto id:\s+(0x[0-9a-f]{64})", out).group(1)
    assert root_id == "0x" + aid.auto_id_identifier("CLI Root").hex()
    assert (tmp_path / "root.key.pem").exists() and (tmp_path / "root.cert.pem").exists()

    # new + issue: a leaf (Ed25519 key) issued by the root
    assert run(capsys, "new", "CLI Leaf", "--key-type", "ed25519", "--out", str(tmp_path), "--name", "leaf")[0] == 0
    code, out = run(capsys, "issue", str(tmp_path / "leaf.key.pem"), "--issuer-key", str(tmp_path / "root.key.pem"),
                    "--issuer-cert", str(tmp_path / "root.cert.pem"), "--common-name", "CLI Leaf",
                    "--out", str(tmp_path / "leaf.issued.pem"))
    assert code == 0 and "issuer CLI Root" in out
    # and one from a CSR (RSA key), its common name taken from the CSR
    csr_key = aid.generate_key("rsa")
    (tmp_path / "csr.pem").write_bytes(aid.make_csr(csr_key, "CLI CSR Leaf").public_bytes(serialization.Encoding.PEM))
    code, out = run(capsys, "issue", str(tmp_path / "csr.pem"), "--issuer-key", str(tmp_path / "root.key.pem"),
                    "--issuer-cert", str(tmp_path / "root.cert.pem"), "--out", str(tmp_path / "csr-leaf.pem"))
    assert code == 0 and "CN CLI CSR Leaf" in out

    # register the root, then the leaves under it
    code, result = on_chain(capsys, dev_node, sender_key, "register", str(tmp_path / "root.cert.pem"))
    assert code == 0 and result["ok"] and result["id"] == root_id and result["transaction"].startswith("0x")
    code, result = on_chain(capsys, dev_node, sender_key, "register", str(tmp_path / "leaf.issued.pem"),
                            "--issuer-id", root_id)
    assert code == 0 and result["ok"], result
    leaf_id = result["id"]
    assert leaf_id == "0x" + aid.auto_id_identifier("CLI Leaf", bytes.fromhex(root_id[2:])).hex()
    code, result = on_chain(capsys, dev_node, sender_key, "register", str(tmp_path / "csr-leaf.pem"),
                            "--issuer-id", root_id)
    assert code == 0 and result["ok"], result

    # a rejection: the reason in plain words, nothing sent, exit code 1
    code, result = on_chain(capsys, dev_node, sender_key, "register", str(tmp_path / "root.cert.pem"))
    assert (code, result["ok"], result["transaction"], result["revert_reason"]) == (1, False, None, "identifier exists")
    code, out = run(capsys, "register", str(tmp_path / "leaf.issued.pem"), "--rpc-url", dev_node.url,
                    "--from-key", sender_key)
    assert code == 1 and "transaction: (not sent)" in out
    assert "rejected: wrong issuer: a root certificate must name itself as its issuer" in out

    # show
    code, shown = on_chain(capsys, dev_node, sender_key, "show", leaf_id)
    assert code == 0 and shown["status"] == "active" and shown["issuer_id"] == root_id
    assert shown["common_name"] == "CLI Leaf" and shown["depth"] == 1
    code, out = run(capsys, "show", leaf_id, "--rpc-url", dev_node.url)
    assert code == 0 and re.search(r"status:\s+active", out)

    # link-address: signed by the leaf's key
    code, result = on_chain(capsys, dev_node, sender_key, "link-address", leaf_id, BOB,
                            "--key", str(tmp_path / "leaf.key.pem"))
    assert code == 0 and result["ok"] and result["account"] == BOB
    client = aid.AutoIdClient(dev_node.url)
    assert client.contract.functions.isController(bytes.fromhex(leaf_id[2:]), BOB).call()
    code, result = on_chain(capsys, dev_node, sender_key, "link-address", leaf_id, BOB,
                            "--key", str(tmp_path / "root.key.pem"))
    assert code == 1 and result["revert_reason"] == "account already linked"

    # renew the root: a new certificate for the same key
    code, out = run(capsys, "new", "CLI Root", "--key", str(tmp_path / "root.key.pem"), "--out", str(tmp_path),
                    "--name", "root-renewed", "--days", "30")
    assert code == 0 and root_id in out
    code, result = on_chain(capsys, dev_node, sender_key, "renew", root_id, str(tmp_path / "root-renewed.cert.pem"))
    assert code == 0 and result["ok"], result
    code, result = on_chain(capsys, dev_node, sender_key, "renew", root_id, str(tmp_path / "leaf.issued.pem"))
    assert code == 1 and result["revert_reason"].startswith("wrong common name")

    # revoke the leaf: its own (Ed25519) key cannot, the root's (P-256) key does; the link stops counting
    code, result = on_chain(capsys, dev_node, sender_key, "revoke", leaf_id, "--issuer-key",
                            str(tmp_path / "leaf.key.pem"))
    assert code == 1 and result["revert_reason"] == "key/algorithm mismatch: Ed25519 with a EC secp256r1 key"
    code, result = on_chain(capsys, dev_node, sender_key, "revoke", leaf_id, "--issuer-key",
                            str(tmp_path / "root.key.pem"))
    assert code == 0 and result["ok"], result
    assert on_chain(capsys, dev_node, sender_key, "show", leaf_id)[1]["status"] == "revoked"
    assert not client.contract.functions.isController(bytes.fromhex(leaf_id[2:]), BOB).call()

    # deactivate the root
    code, result = on_chain(capsys, dev_node, sender_key, "deactivate", root_id, "--key",
                            str(tmp_path / "root.key.pem"))
    assert code == 0 and result["ok"], result
    assert on_chain(capsys, dev_node, sender_key, "show", root_id)[1]["status"] == "deactivated"


def test_auto_id_command_reports_bad_input(tmp_path, capsys):
    code, out = run(capsys, "register", str(tmp_path / "missing.pem"), "--rpc-url", "http://127.0.0.1:9")
    assert code == 2 and "missing.pem" in out
    (tmp_path / "junk.pem").write_text("not a certificate")
    code, out = run(capsys, "register", str(tmp_path / "junk.pem"))
    assert code == 2 and "not a PEM or DER certificate" in out
    code, out = run(capsys, "show", "0x1234")
    assert code == 2 and "32 bytes" in out
    code, out = run(capsys, "show", "0x" + "11" * 32, "--rpc-url", "http://127.0.0.1:9")
    assert code == 2 and "cannot reach the domain RPC at http://127.0.0.1:9" in out
    with pytest.raises(SystemExit):
        aid.main(["auto-id", "new", "X", "--key-type", "dsa"])


def test_autonomys_command_runs_auto_id(tmp_path):
    import subprocess
    import sys

    from domains import cli

    if "auto-id" not in cli._parser().format_help():
        pytest.skip("domains/cli.py does not wire `add_auto_id_parser` yet")
    done = subprocess.run([sys.executable, "-m", "domains.cli", "auto-id", "new", "Wired", "--key-type", "ed25519",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "0x" + aid.auto_id_identifier("Wired").hex() in done.stdout
