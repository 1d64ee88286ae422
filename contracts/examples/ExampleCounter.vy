# pragma version ~=0.4.3
"""
@title ExampleCounter
@notice A counter used by the ape scripts (scripts/) and the compiler tests.
        It shows storage, an immutable, events and asserts with reason strings.
"""

event Incremented:
    by: indexed(address)
    step: uint256
    count: uint256

event Reset:
    by: indexed(address)
    previous: uint256

MAX_STEP: public(constant(uint256)) = 100

owner: public(immutable(address))
count: public(uint256)


@deploy
def __init__(start: uint256):
    owner = msg.sender
    self.count = start


@external
def increment(step: uint256) -> uint256:
    """
    @notice Add `step` (1 to MAX_STEP) to the count and return the new count.
    """
    assert step > 0, "counter: step must be positive"
    assert step <= MAX_STEP, "counter: step too large"
    self.count += step
    log Incremented(by=msg.sender, step=step, count=self.count)
    return self.count


@external
def reset():
    """
    @notice Set the count back to zero; only the owner may.
    """
    assert msg.sender == owner, "counter: only the owner can reset"
    previous: uint256 = self.count
    self.count = 0
    log Reset(by=msg.sender, previous=previous)
