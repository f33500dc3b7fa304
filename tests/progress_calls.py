"""A fake :class:`~guanxi.progress.Progress` that keeps its calls, and the checks every operation must pass."""

from __future__ import annotations


class ProgressCalls:
    """Records each ``(done, total, message)`` it is called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.calls.append((done, total, message))

    @property
    def messages(self) -> list[str]:
        return [message for _, _, message in self.calls]

    def assert_well_formed(self) -> None:
        """Calls arrived, ``done`` never goes back nor past ``total``, and the last one is ``done == total``."""
        assert self.calls, "progress was never called"
        dones = [done for done, _, _ in self.calls]
        assert dones == sorted(dones), f"done went backwards: {dones}"
        assert all(0 <= done <= total for done, total, _ in self.calls), self.calls
        done, total, _ = self.calls[-1]
        assert done == total, f"the last call is {self.calls[-1]}"
