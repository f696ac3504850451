#!/usr/bin/env python3
"""Live migration in the middle of an ibm,configure-connector walk, in QEMU.

Usage: migration_test.py --qemu QEMU --image tern.bin --client cc-client.elf SCENARIO

The test client (tests/client/cc-client.cc) walks the DRC of a hot-added CPU core, PCI device
(virtio-net-pci in slot 3 of the first PHB) or PHB (spapr-pci-host-bridge, index 1) one RTAS
call per console command. The harness, through QMP, hot-adds the device (device_add), and after chosen
steps migrates the VM to a file (migrate to "exec:cat > FILE", which stops it), ends that QEMU,
starts a new one with the same devices and -incoming, and continues the walk there; --help lists
the scenarios. Every tern scenario must end with the same answers (digest) as the uninterrupted
walk.
"""
import os
import re
import sys
import tempfile
import time

from guest import Guest, expect, run_scenarios



# What each kind of connector needs: its DRC index (QEMU's encoding, type << 28 | ...), the
# device hot-added (QMP device_add arguments, and the same as a destination -device), and whether
# it is a logical DRC (allocated with set-indicator 9003, sensor "unusable" before) or a physical
# one (sensor "present", no allocation indicator) [LoPAPR 13.5.3].
KINDS = {
    "pci": {"drc": 0x40000018, "logical": False,
            "device": {"driver": "virtio-net-pci", "romfile": "", "addr": "3", "id": "pci1"}},
    "phb": {"drc": 0x20000001, "logical": True,
            "device": {"driver": "spapr-pci-host-bridge", "index": 1, "id": "phb1"}},
}


def device_option(device):
    options = [device["driver"]] + [f"{k}={v}" for k, v in device.items() if k != "driver"]
    return ",".join(options)


class Walk:
    def __init__(self, opts, directory, cores=1, kind="cpu"):
        self.opts = opts
        self.directory = directory
        self.kind = KINDS.get(kind)
        self.cores = range(1, cores + 1) if self.kind is None else range(1, 2)
        self.args = ["-bios", opts.image, "-m", "1G", "-smp", "1,maxcpus=4",
                     "-kernel", opts.client]
        if self.kind is not None:
            self.args += ["-append", f"drc={self.kind['drc']:#x}"]
        self.guest = Guest(opts.qemu, self.args, qmp=True)
        self.guest.wait_for(r"CC: ready")
        if self.kind is None:
            self.core = self.guest.core_type()
            for core in self.cores:
                self.guest.qmp("device_add", driver=self.core, **{"core-id": core},
                               id=f"core{core}")
        else:
            self.guest.qmp("device_add", **self.kind["device"])
        self.answers = []
        self.second = []
        self.migrations = 0

    def command(self, letter, pattern):
        start = len(self.guest.text())
        self.guest.send(letter.encode())
        for _ in range(2):
            text = self.guest.text()[start:]
            match = re.search(pattern, text)
            if match:
                return match
            self.guest.wait_for(pattern, timeout=60)
            match = re.search(pattern, self.guest.text()[start:])
            if match:
                return match
        self.guest.fail(f"no /{pattern}/ after '{letter}'")

    def prepare(self):
        if self.kind is not None and not self.kind["logical"]:
            # A physical connector: present once the device is added; unisolate it.
            expect(self.command("s", r"CC: sensor s status (-?\d+) state (\d+)").groups() ==
                   ("0", "1"), "the hot-added device's connector is not present", self.guest)
            expect(self.command("i", r"CC: indicator i status (-?\d+)").group(1) == "0",
                   "unisolation failed", self.guest)
            return
        for s, a, i in ("sai", "SAI")[:len(self.cores)]:
            expect(self.command(s, rf"CC: sensor {s} status (-?\d+) state (\d+)").groups() ==
                   ("0", "2"), "the hot-added core's connector is not unusable", self.guest)
            expect(self.command(a, rf"CC: indicator {a} status (-?\d+)").group(1) == "0",
                   "allocation failed", self.guest)
            expect(self.command(i, rf"CC: indicator {i} status (-?\d+)").group(1) == "0",
                   "unisolation failed", self.guest)

    def step(self, letter="c"):
        answers = self.second if letter == "C" else self.answers
        word = "STEP" if letter == "C" else "step"
        n = len(answers) + 1
        match = self.command(letter, rf"CC: {word} {n} code (-?\d+) name (\S*) len (\d+)\r?\n")
        answer = (int(match.group(1)), match.group(2), int(match.group(3)))
        answers.append(answer)
        return answer

    def migrate(self):
        self.migrations += 1
        state = os.path.join(self.directory, f"vm{self.migrations}.state")
        self.guest.qmp("migrate", uri=f"exec:cat > {state}")
        for _ in range(1200):
            status = self.guest.qmp("query-migrate").get("status")
            if status == "completed":
                break
            expect(status not in ("failed", "cancelled"), f"migration {status}", self.guest)
            time.sleep(0.05)
        else:
            self.guest.fail("the migration did not complete")
        text = self.guest.text()
        self.guest.kill()
        # The destination: the same machine, the hot-added device cold-plugged, the incoming state.
        devices = []
        if self.kind is not None:
            devices = ["-device", device_option(self.kind["device"])]
        else:
            for core in self.cores:
                devices += ["-device", f"{self.core},core-id={core},id=core{core}"]
        self.guest = Guest(self.opts.qemu,
                           [*self.args, *devices, "-incoming", f"exec:cat {state}"], qmp=True)
        self.guest.output = text.encode()  # keep one transcript across the hosts
        # Console input sent before the incoming state is loaded would be overwritten by it.
        for _ in range(1200):
            if self.guest.qmp("query-status").get("status") == "running":
                break
            time.sleep(0.05)
        else:
            self.guest.fail("the destination never started running")

    def finish(self, letter="c", migrate_after=()):
        while True:
            code = self.step(letter)[0]
            if len(self.answers) in migrate_after:
                self.migrate()
            if code <= 0 and code != -2:
                return code

    def digest(self):
        match = self.command("d", r"CC: digest ([0-9a-f]+) steps \d+ second ([0-9a-f]+) steps")
        return match.group(1) if len(self.cores) == 1 else match.groups()


def data_answers(answers):
    return [a for a in answers if a[0] != -2]


def run(opts, migrate_after, kind="cpu"):
    with tempfile.TemporaryDirectory() as directory:
        walk = Walk(opts, directory, kind=kind)
        walk.prepare()
        end = walk.finish("c", migrate_after)
        digest = walk.digest()
        guest = walk.guest
        walk.guest.kill()
        expect(end == 0, f"the walk ended with {end}", guest)
        expect("tern: EXCEPTION" not in guest.text() and "tern-rtas:" not in guest.text(),
               "an exception or an RTAS error on the console", guest)
        return data_answers(walk.answers), digest, guest, walk.answers


def scenario_tern(at, during_snapshot=False, kind="cpu"):
    """A walk migrated after the calls `at(n)` names (n: calls of the uninterrupted walk) must give
    the uninterrupted walk's answers. With `during_snapshot`, the migration must land while tern
    is still taking its snapshot: the calls just before and just after it both answer -2."""
    def scenario(opts):
        reference, reference_digest, _, reference_calls = run(opts, (), kind)
        if at is None:
            expect(reference[0][0] == 2 and reference[-1][0] == 0, f"walk {reference}", None)
            print(f"uninterrupted: {len(reference)} answers, digest {reference_digest}")
            return
        migrate_after = at(len(reference_calls))
        answers, digest, guest, calls = run(opts, migrate_after, kind)
        codes = [call[0] for call in calls]
        if during_snapshot:
            point = migrate_after[0]  # calls answered before the migration
            expect(codes[point - 1] == -2 and codes[point] == -2,
                   f"the migration after call {point} did not land during the snapshot: "
                   f"answers {codes[point - 1]} before it and {codes[point]} after it", guest)
            print(f"the migration landed during the snapshot: -2 before and after it; "
                  f"{codes.count(-2)} answers -2 in all (uninterrupted walk: "
                  f"{[c[0] for c in reference_calls].count(-2)})")
        expect(answers == reference,
               f"answers differ after migrating at {migrate_after}:\n{answers}\nvs\n{reference}",
               guest)
        expect(digest == reference_digest, f"digest {digest} != {reference_digest}", guest)
        print(f"migrated after call(s) {migrate_after}: {len(answers)} answers, digest {digest}"
              " (equal to the uninterrupted walk)")
    return scenario


def scenario_qemu_restarts(opts):
    with tempfile.TemporaryDirectory() as directory:
        walk = Walk(opts, directory)
        walk.prepare()
        before = [walk.step("q") for _ in range(6)]  # the node and 5 properties
        walk.migrate()
        after = walk.step("q")
        guest = walk.guest
        walk.guest.kill()
    print(f"QEMU's own walk: before migration {before}; first answer after it {after}")
    expect(before[0][0] == 2, f"QEMU's walk did not start with a node: {before}", guest)
    # Stock QEMU 7.2 and later lose the cursor: the walk restarts at the fragment's root.
    expect(after == before[0],
           f"after migration QEMU answered {after}, not a restart at {before[0]}: QEMU changed",
           guest)


def interleaved(opts, migrate_at):
    """Walks two cores' connectors interleaved, migrating after `migrate_at` calls of each."""
    with tempfile.TemporaryDirectory() as directory:
        walk = Walk(opts, directory, cores=2)
        walk.prepare()
        ends = {}
        calls = 0
        while len(ends) < 2:
            calls += 1
            for letter in "cC":
                if letter not in ends:
                    code = walk.step(letter)[0]
                    if code <= 0 and code != -2:
                        ends[letter] = code
            if calls == migrate_at:
                walk.migrate()
        digests = walk.digest()
        guest = walk.guest
        walk.guest.kill()
    expect(ends == {"c": 0, "C": 0}, f"walks ended with {ends}", guest)
    return data_answers(walk.answers), data_answers(walk.second), digests, guest


def scenario_two_drcs(opts):
    first, second, digests, _ = interleaved(opts, None)
    first_m, second_m, digests_m, guest = interleaved(opts, 12)
    expect(second[0][1].endswith("@2") and first[0][1].endswith("@1"),
           f"the walks did not start with their cores: {first[0]} {second[0]}", guest)
    # The two cores' fragments differ only in the node's unit address (and property values):
    # each walk must give every property of its own core, in order.
    expect([a[:1] + a[2:] for a in first] == [a[:1] + a[2:] for a in second] and
           [a[1] for a in first[1:]] == [a[1] for a in second[1:]],
           f"the interleaved walks differ in shape:\n{first}\n{second}", guest)
    expect((first_m, second_m, digests_m) == (first, second, digests),
           "two walks migrated mid-way differ from the same walks without migration", guest)
    print(f"two interleaved walks across one migration: {len(first)} and {len(second)} answers, "
          f"digests {digests_m} (equal to the walks without migration)")


def scenario_smp(opts):
    """Two vCPUs in tern's RTAS at once: a walk on one, 3000 get-time-of-day calls on the other."""
    reference, reference_digest, _, _ = run(opts, ())
    with tempfile.TemporaryDirectory() as directory:
        walk = Walk(opts, directory)
        walk.guest.kill()
        walk.args = [*walk.args[:walk.args.index("-smp")], "-smp", "2,maxcpus=4",
                     *walk.args[walk.args.index("-smp") + 2:]]
        walk.guest = Guest(opts.qemu, walk.args, qmp=True)
        walk.guest.wait_for(r"CC: ready")
        walk.core = walk.guest.core_type()
        walk.guest.qmp("device_add", driver=walk.core, **{"core-id": 2}, id="core2")
        walk.cores = range(2, 3)
        # The hot-added core is core-id 2 here (-smp 2 has core 1): walk it as the second DRC.
        for letter, pattern in (("S", r"CC: sensor S status 0 state 2"),
                                ("A", r"CC: indicator A status 0"),
                                ("I", r"CC: indicator I status 0")):
            walk.command(letter, pattern)
        started = walk.command("p", r"CC: start-cpu status (-?\d+)").group(1)
        expect(started == "0", f"start-cpu: {started}", walk.guest)
        while True:
            code = walk.step("C")[0]
            if code <= 0 and code != -2:
                break
        expect(code == 0, f"the walk ended with {code} while the other CPU called RTAS", walk.guest)
        for _ in range(600):
            result = walk.command("r", r"CC: secondary calls (\d+) failures (\d+) done (\d+)")
            if result.group(3) == "1":
                break
        guest = walk.guest
        walk.guest.kill()
    calls, failures, done = map(int, result.groups())
    expect("tern: EXCEPTION" not in guest.text() and "tern-rtas:" not in guest.text(),
           "an exception or an RTAS error on the console", guest)
    answers = data_answers(walk.second)
    expect(done == 1 and calls == 3000 and failures == 0,
           f"second CPU: {calls} calls, {failures} failures, done {done}", guest)
    expect([a[0] for a in answers] == [a[0] for a in reference] and
           [a[1] for a in answers[1:]] == [a[1] for a in reference[1:]],
           f"the walk under concurrent RTAS calls differs:\n{answers}\n{reference}", guest)
    print(f"walk of {len(answers)} answers beside {calls} concurrent get-time-of-day calls, "
          f"{failures} failures")


SCENARIOS = {
    "uninterrupted": ("the reference walk, no migration", scenario_tern(None)),
    "first": ("migrate after the first call, while tern takes its snapshot (asserted: the calls "
              "before and after the migration both answer -2)",
              scenario_tern(lambda n: (1,), during_snapshot=True)),
    "replay": ("migrate after call 3, late in tern's replay of QEMU's walk (asserted as for "
               "first: -2 before and after)", scenario_tern(lambda n: (3,), during_snapshot=True)),
    "middle": ("migrate in the middle of the properties", scenario_tern(lambda n: (n // 2,))),
    # n: calls of the uninterrupted walk
    "last": ("migrate before the final call", scenario_tern(lambda n: (n - 1,))),
    "twice": ("migrate twice within one walk", scenario_tern(lambda n: (n // 3, 2 * n // 3))),
    **{f"{kind}-{name}": (f"{what}: a hot-added {label}'s connector", scenario)
       for kind, label in (("pci", "virtio-net-pci device"), ("phb", "PHB"))
       for name, what, scenario in (
           ("uninterrupted", "the reference walk, no migration", scenario_tern(None, kind=kind)),
           ("first", "migrate after the first call, while tern takes its snapshot (-2 before and "
            "after it)", scenario_tern(lambda n: (1,), during_snapshot=True, kind=kind)),
           ("replay", "migrate after call 2, later in tern's replay (-2 before and after it)",
            scenario_tern(lambda n: (2,), during_snapshot=True, kind=kind)),
           ("middle", "migrate in the middle of the properties",
            scenario_tern(lambda n: (n // 2,), kind=kind)),
           ("last", "migrate before the final call", scenario_tern(lambda n: (n - 1,), kind=kind)),
           ("twice", "migrate twice within one walk",
            scenario_tern(lambda n: (n // 3, 2 * n // 3), kind=kind)))},
    "two-drcs": ("two cores hot-added, their connectors walked interleaved with a work area each, "
                 "one migration in the middle of both", scenario_two_drcs),
    "smp": ("two vCPUs in tern's RTAS at once: the walk on one, 3000 get-time-of-day calls on the "
            "other; both correct", scenario_smp),
    "qemu-restarts": ("the same walk through QEMU's own configure-connector (as under SLOF): a "
                      "migration in the middle restarts it at the fragment's root; this asserts "
                      "that behaviour of stock QEMU, so the day QEMU changes, this test says so",
                      scenario_qemu_restarts),
}


def add_arguments(parser):
    parser.add_argument("--client", required=True, help="build/tests/cc-client.elf")

if __name__ == "__main__":
    sys.exit(run_scenarios(__doc__, SCENARIOS, add_arguments))
