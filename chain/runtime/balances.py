"""Balances pallet (index 5): free balances, transfers, the existential deposit, fees.

Storage (pallet "Balances"):

* `Account` ‖ account [u8; 32]: u128, the free balance (absent = 0 = no account).
* `TotalIssuance`: u128, the sum of all balances.
* `ExistentialDeposit`: u128; `BaseFee`: u128; `ByteFee`: u128 (set at genesis).

Rules (each one function below):

* Existential deposit (ED): an account whose balance would fall below the ED (but above 0)
  is *reaped*: its balance is removed and the remainder ("dust") is burned. A transfer that
  would leave the destination below the ED fails (`ExistentialDeposit`); a credit below the ED
  to an absent account (a fee share, a reward) is dropped (burned), as Substrate drops it.
  `transfer_keep_alive` fails instead of reaping the source (`Expendability`).
* Fees: a signed extrinsic pays `base_fee + byte_fee · len(extrinsic) + tip` from the signer's
  free balance before its call runs (`CannotPayFees` makes the block invalid when the
  balance is below it; paying may reap the signer). The fee is charged even when the call
  fails. Split: the whole fee, tip included, goes to the block author's reward address
  (`ctx.reward_address`); nothing is burned except dust. (The live network splits storage
  fees, compute fees and tips differently; this runtime keeps one rule.)
* Nonces are in System and survive reaping (see `chain.runtime.system`).
"""

from __future__ import annotations

from typing import Any

from chain import scale
from chain.runtime import values
from chain.runtime.errors import CannotPayFees, UnknownCall
from chain.runtime.extrinsics import BALANCES_INDEX
from chain.runtime.pallet import BlockContext, DispatchError, Origin

NAME = "Balances"
TRANSFER_ALLOW_DEATH = 0
TRANSFER_KEEP_ALIVE = 3

#: 1 AI3 = 10^18 Shannon (the live token's decimals).
AI3 = 10**18
DEFAULT_EXISTENTIAL_DEPOSIT = 10**12
DEFAULT_BASE_FEE = 10**13
DEFAULT_BYTE_FEE = 10**10


def extrinsic_fee(base_fee: int, byte_fee: int, length: int, tip: int) -> int:
    """The fee of a signed extrinsic of `length` bytes: `base_fee + byte_fee · length + tip`."""
    return base_fee + byte_fee * length + tip


class Balances:
    """Balance operations over the balances pallet's storage (also what other pallets use,
    via `PalletStorage.balances`). Failures raise `DispatchError("Balances", ...)`."""

    def __init__(self, storage) -> None:
        self.storage = storage

    # reads
    def free(self, account: bytes) -> int:
        return values.get_uint(self.storage, "Account", 128, bytes(account))

    def exists(self, account: bytes) -> bool:
        return self.free(account) > 0

    def existential_deposit(self) -> int:
        return values.get_uint(self.storage, "ExistentialDeposit", 128)

    def total_issuance(self) -> int:
        return values.get_uint(self.storage, "TotalIssuance", 128)

    def fee_of(self, length: int, tip: int) -> int:
        return extrinsic_fee(
            values.get_uint(self.storage, "BaseFee", 128), values.get_uint(self.storage, "ByteFee", 128), length, tip
        )

    # writes
    def _set_free(self, account: bytes, amount: int) -> None:
        if amount == 0:
            values.delete(self.storage, "Account", bytes(account))
        else:
            values.set_uint(self.storage, "Account", 128, amount, bytes(account))

    def _change_issuance(self, delta: int) -> None:
        values.set_uint(self.storage, "TotalIssuance", 128, self.total_issuance() + delta)

    def _set_or_reap(self, account: bytes, amount: int) -> None:
        """Existential deposit: a balance below the ED (but not 0) is reaped, its dust burned."""
        if 0 < amount < self.existential_deposit():
            self._set_free(account, 0)
            self._change_issuance(-amount)
            self.storage.deposit_event("DustLost", account=bytes(account), amount=amount)
        else:
            self._set_free(account, amount)

    def deposit(self, account: bytes, amount: int) -> int:
        """Mint `amount` into `account`; a credit leaving the account below the ED is dropped
        (burned). Returns the amount credited."""
        if amount <= 0:
            return 0
        new = self.free(account) + amount
        if new < self.existential_deposit():
            return 0
        self._set_free(account, new)
        self._change_issuance(amount)
        return amount

    def withdraw(self, account: bytes, amount: int, keep_alive: bool = False) -> None:
        """Burn `amount` from `account` (reaping it if the remainder is below the ED)."""
        free = self.free(account)
        if amount > free:
            raise DispatchError(NAME, "InsufficientBalance", f"{bytes(account).hex()[:16]}… has {free} < {amount}")
        remainder = free - amount
        if keep_alive and remainder < self.existential_deposit():
            raise DispatchError(NAME, "Expendability", f"withdrawing {amount} would reap {bytes(account).hex()[:16]}…")
        self._change_issuance(-amount)
        self._set_or_reap(account, remainder)

    def transfer(self, source: bytes, dest: bytes, amount: int, keep_alive: bool = False) -> None:
        """Move `amount` from `source` to `dest` (spec: existential deposit rules above)."""
        free = self.free(source)
        if amount > free:
            raise DispatchError(NAME, "InsufficientBalance", f"{bytes(source).hex()[:16]}… has {free} < {amount}")
        if bytes(source) == bytes(dest):
            return
        ed = self.existential_deposit()
        new_dest = self.free(dest) + amount
        if new_dest < ed:
            raise DispatchError(NAME, "ExistentialDeposit", f"destination balance {new_dest} would be below the existential deposit {ed}")
        remainder = free - amount
        if keep_alive and remainder < ed:
            raise DispatchError(NAME, "Expendability", f"transfer would reap the source {bytes(source).hex()[:16]}…")
        self._set_free(dest, new_dest)
        self._set_or_reap(source, remainder)
        self.storage.deposit_event("Transfer", source=bytes(source), dest=bytes(dest), amount=amount)


def charge_fee(storage, account: bytes, fee: int, index: int | None = None) -> None:
    """A signed extrinsic's fee is taken from its signer before the call runs; a signer who
    cannot pay makes the extrinsic invalid (`CannotPayFees`)."""
    balances = Balances(storage)
    free = balances.free(account)
    if free < fee:
        raise CannotPayFees(f"signer {bytes(account).hex()} has {free}, the fee is {fee}", index)
    balances.withdraw(account, fee)


def pay_fee_to_author(storage, ctx: BlockContext, fee: int) -> int:
    """Fee split: the whole fee (tip included) goes to the block author's reward address."""
    return Balances(storage).deposit(ctx.reward_address, fee)


def decode_transfer_args(args: bytes) -> tuple[bytes, int]:
    dest, at = scale.decode_fixed(args, 0, 32, "transfer dest")
    amount, at = scale.decode_compact(args, at, "transfer value")
    scale.ensure_consumed(args, at, "transfer args")
    return dest, amount


class BalancesPallet:
    """The Balances pallet (`Pallet` protocol)."""

    name = NAME
    index = BALANCES_INDEX

    def genesis(self, storage, config: dict[str, Any]) -> None:
        values.set_uint(storage, "ExistentialDeposit", 128, int(config.get("existential_deposit", DEFAULT_EXISTENTIAL_DEPOSIT)))
        values.set_uint(storage, "BaseFee", 128, int(config.get("base_fee", DEFAULT_BASE_FEE)))
        values.set_uint(storage, "ByteFee", 128, int(config.get("byte_fee", DEFAULT_BYTE_FEE)))
        values.set_uint(storage, "TotalIssuance", 128, 0)
        balances = Balances(storage)
        ed = balances.existential_deposit()
        for account, amount in sorted(dict(config.get("balances", {})).items()):
            if len(account) != 32:
                raise ValueError(f"genesis account {bytes(account).hex()} is not 32 bytes")
            if amount < ed:
                raise ValueError(f"genesis balance {amount} of {bytes(account).hex()} is below the existential deposit {ed}")
            balances.deposit(account, amount)

    def on_initialize(self, storage, ctx: BlockContext) -> None:
        pass

    def dispatch(self, storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index not in (TRANSFER_ALLOW_DEATH, TRANSFER_KEEP_ALIVE):
            raise UnknownCall(f"Balances has no call {call_index}")
        dest, amount = decode_transfer_args(args)
        if origin.signer is None:
            raise DispatchError(NAME, "BadOrigin", "transfers must be signed")
        Balances(storage).transfer(origin.signer, dest, amount, keep_alive=call_index == TRANSFER_KEEP_ALIVE)

    def on_finalize(self, storage, ctx: BlockContext) -> None:
        pass
