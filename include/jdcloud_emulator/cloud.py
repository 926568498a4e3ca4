"""The emulated cloud: one state, one backend per service, and the data plane."""

from __future__ import annotations

import threading

from include.jdcloud_emulator.dataplane import DataPlane, SimulatedDataPlane
from include.jdcloud_emulator.faults import Faults
from include.jdcloud_emulator.models.assistant import AssistantBackend
from include.jdcloud_emulator.models.bgw import BgwBackend
from include.jdcloud_emulator.models.core import Clock, IdFactory, iso
from include.jdcloud_emulator.models.state import EmulatorState
from include.jdcloud_emulator.models.vm import VmBackend
from include.jdcloud_emulator.models.vpc import VpcBackend
from include.jdcloud_emulator.settings import EmulatorSettings
from include.jdcloud_emulator.store import StateStore


class EmulatedCloud:
    """Owns the state and the backends; the response layer calls its backends and nothing else."""

    def __init__(self, settings: EmulatorSettings, faults: Faults | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.ids = IdFactory(settings.seed)
        self.faults = faults or Faults(seed=settings.seed)
        self.store = StateStore(settings.state_path) if settings.state_path else None
        self.state = (self.store.load() if self.store else None) or EmulatorState()
        self.vpc = VpcBackend(self)
        self.vm = VmBackend(self)
        self.bgw = BgwBackend(self)
        self.assistant = AssistantBackend(self)
        self.lock = threading.RLock()  # held by each API call and by the real data plane's reads of the state
        self.dataplane: DataPlane = self._dataplane(settings.dataplane)

    def _dataplane(self, kind: str) -> DataPlane:
        if kind == "real":
            from include.jdcloud_emulator.realplane import RealDataPlane  # imports vici; needs root and strongSwan

            return RealDataPlane(self)
        return SimulatedDataPlane(self)

    def close(self) -> None:
        """Release the data plane (the real one's namespaces and charons)."""
        self.dataplane.close()

    def now(self) -> float:
        return self.clock.now()

    def now_iso(self) -> str:
        return iso(self.now())

    def latency(self, name: str) -> float:
        return self.settings.latency(name)

    def new_id(self, prefix: str) -> str:
        taken = self.state.all_ids()
        while (candidate := self.ids.new(prefix)) in taken:
            pass
        return candidate

    def before_request(self) -> None:
        """Forget resources whose deletion has finished, so every request sees them gone."""
        now = self.now()
        self.vm.reap(now)
        self.bgw.reap(now)

    def after_change(self) -> None:
        """Re-derive tunnel negotiation and persist; called after every successful mutating call."""
        self.dataplane.reconcile(self.now())
        if self.store:
            self.store.save(self.state)

    def reset(self) -> None:
        with self.lock:
            self.state = EmulatorState()
            self.ids.clear_presets()
            self.faults.forget_calls()
            if self.store:
                self.store.save(self.state)
        self.dataplane.reconcile(self.now())
