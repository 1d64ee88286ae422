"""The dev network's data directory as a whole: one process at a time (a lock the kernel
drops with the process), the consensus chain and the domain together or not at all, and a
damaged pool journal set aside instead of stopping the node."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from chain.store import KVStore
from domains.cli import main
from domains.devnet import WHOLE_STORES, DataDirError, DataDirLock, check_data_dir, open_pool_journal


def make_store(path) -> None:
    store = KVStore(path)
    store.put(b"k", b"v" * 100)
    store.close()


def test_one_store_without_the_other_is_refused_by_name(tmp_path, capsys):
    check_data_dir(tmp_path)  # a new network: neither exists
    make_store(tmp_path / "domains" / "0")
    with pytest.raises(DataDirError) as err:
        check_data_dir(tmp_path)
    assert f"{tmp_path / WHOLE_STORES['the consensus chain']} (the consensus chain) is missing" in str(err.value)
    # The command line says the same, and starts nothing (no new consensus genesis is made).
    assert main(["dev", "--base-path", str(tmp_path), "--rpc-port", "0"]) == 1
    assert "is incomplete" in capsys.readouterr().err
    assert not (tmp_path / "consensus").exists()
    make_store(tmp_path / "consensus" / "chain")
    check_data_dir(tmp_path)
    os.remove(tmp_path / WHOLE_STORES["the EVM domain"])
    with pytest.raises(DataDirError, match="the EVM domain\\) is missing"):
        check_data_dir(tmp_path)


def test_a_data_directory_has_one_user_until_it_dies(tmp_path):
    lock = DataDirLock(tmp_path)
    with pytest.raises(DataDirError, match=f"in use by another node \\(process {os.getpid()} holds"):
        DataDirLock(tmp_path)
    lock.release()
    DataDirLock(tmp_path).release()
    # Another process holds it; killed with SIGKILL, it leaves the directory free.
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from domains.devnet import DataDirLock
        held = DataDirLock(__import__("pathlib").Path({str(tmp_path)!r}))
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirError, match=f"process {holder.pid} holds"):
            DataDirLock(tmp_path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    DataDirLock(tmp_path).release()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataDirError, match=f"cannot use {tmp_path / 'file'} as the data directory"):
        DataDirLock(tmp_path / "file")


def test_a_damaged_pool_journal_is_set_aside(tmp_path, caplog):
    path = tmp_path / "pool"
    make_store(path)
    os.truncate(path / "data.mdb", 0)
    with caplog.at_level(logging.WARNING, logger="autonomys.devnet"):
        store = open_pool_journal(path)
    assert store.get(b"k") is None
    store.close()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("pool.corrupt-")]
    assert len(aside) == 1 and (aside[0] / "data.mdb").stat().st_size == 0
    assert f"{path / 'data.mdb'} is empty" in caplog.text and str(aside[0]) in caplog.text


def test_damaged_domain_data_halts_the_domain_once_and_by_name(tmp_path, caplog):
    """Data found damaged while running (a trie node, a receipt) would fail every following
    event the same way: the domain driver says so once, without a traceback, and stops."""
    from chain.params import DEV
    from chain.store import StoreCorrupted
    from domains.devnet import DevNetConfig, DevNetwork
    from domains.evm.genesis import dev_genesis

    net = DevNetwork(DevNetConfig(base_path=tmp_path, domain_genesis=dev_genesis(), params=DEV.with_(pot_iterations=1 << 12),
                                  out=None, durable=False))
    calls = []

    def damaged():
        calls.append(1)
        raise StoreCorrupted(f"{tmp_path}/domains/0/data.mdb is damaged: the value under 00ff does not hash to its key")

    net._follow_best_chain = damaged
    try:
        with caplog.at_level(logging.ERROR, logger="autonomys.devnet"):
            net._handle("best", None)
            net._handle("best", None)
        assert len(calls) == 1 and isinstance(net.domain_halted, StoreCorrupted)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is None
        assert "the domain is halted, its data is damaged" in errors[0].getMessage() and "00ff" in errors[0].getMessage()
    finally:
        net.close()
