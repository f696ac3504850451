# tern: pseries guest firmware. `make help` lists the targets.

CLANG ?= clang
LLD ?= ld.lld
OBJCOPY ?= llvm-objcopy
QEMU ?= qemu-system-ppc64
BUILD ?= build
LIBFDT_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tern
LIBFDT_SRC ?= $(LIBFDT_CACHE)/libfdt
GUEST_KIT ?= $(LIBFDT_CACHE)/guest
DISK_KIT ?= $(LIBFDT_CACHE)/disk
INSTALL_KIT ?= $(LIBFDT_CACHE)/install
NET_KIT ?= $(LIBFDT_CACHE)/net
# make fuzz: seconds per fuzz target; the fuzz targets are built with clang++ (libFuzzer).
FUZZ_SECONDS ?= 60
CLANGXX ?= clang++
# make run: the guest's memory and CPUs, and what to boot (default: the guest kit, Debian's
# ppc64el kernel with a busybox initramfs).
MEMORY ?= 1G
SMP ?= 1
KERNEL ?=
INITRD ?=
# make run DISK=disk.img: boot an installed disk (virtio-blk) instead of a kernel.
DISK ?=
APPEND ?= console=hvc0
# make bench: rounds of each timed measure; BENCH_MAKE_TEST=1 also times `make test`.
BENCH_ROUNDS ?= 5
BENCH_MAKE_TEST ?=
BENCH_PYTHON ?= /usr/bin/python3

# make install: PREFIX, DESTDIR and the directories below (docs/usage.md#installed-files).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
FIRMWARE_DIR ?= $(DATADIR)/qemu
TERN_DATA_DIR ?= $(DATADIR)/tern
DOCDIR ?= $(DATADIR)/doc/tern
MANDIR ?= $(DATADIR)/man
INSTALL ?= install
DOCS := $(wildcard docs/*.md)
# LIBFDT_TARBALL=/usr/src/linux-source-6.1.tar.xz: libfdt from an installed kernel source tarball
# (the default when linux-source-6.1 is installed), no download.
LIBFDT_TARBALL ?=

export CLANG CLANGXX LLD OBJCOPY QEMU

IMAGE := $(BUILD)/tern.bin
RTAS_DUMP := $(BUILD)/tools/tern-rtas-dump
RTAS_CLIENT := $(BUILD)/tests/rtas-client.elf
CC_CLIENT := $(BUILD)/tests/cc-client.elf
ELF := $(BUILD)/tern.elf
MAX_IMAGE_BYTES := 393216

# The firmware's folders; each lists its sources, and which build takes each, in sources.mk.
MODULES := boot lib block fs net nvram of rtas drc bootmgr dev
include $(MODULES:%=%/sources.mk)
module_sources = $(foreach m,$(MODULES),$(addprefix $(m)/,$($(m)_$(1))))

FW_CXX_SOURCES := $(filter %.cc,$(call module_sources,firmware))
FW_ASM_SOURCES := $(filter %.S,$(call module_sources,firmware))
# The RTAS image: its own copy of what it needs from lib/, compiled position-independent. It runs
# the handlers its modules register (rtas/dispatch.h); the boot image carries none of them.
RTAS_CXX_SOURCES := $(filter %.cc,$(call module_sources,rtas))
RTAS_ASM_SOURCES := $(filter %.S,$(call module_sources,rtas))
RTAS_OBJECTS := $(RTAS_CXX_SOURCES:%.cc=$(BUILD)/rtas-image/%.o) \
	$(RTAS_ASM_SOURCES:%.S=$(BUILD)/rtas-image/%.o)
RTAS_IMAGE := $(BUILD)/rtas.bin
LIBFDT_SOURCES := fdt.c fdt_addresses.c fdt_empty_tree.c fdt_overlay.c fdt_ro.c fdt_rw.c \
	fdt_strerror.c fdt_sw.c fdt_wip.c

FW_OBJECTS := $(FW_CXX_SOURCES:%.cc=$(BUILD)/fw/%.o) $(FW_ASM_SOURCES:%.S=$(BUILD)/fw/%.o) \
	$(LIBFDT_SOURCES:%.c=$(BUILD)/fw/libfdt/%.o)

# Big-endian 64-bit POWER, ELFv2; freestanding rules (docs/freestanding.md) enforced by flags.
TARGET_FLAGS := --target=powerpc64-unknown-none-elf -mabi=elfv2 -mcpu=pwr7 -mno-altivec -mno-vsx \
	-msoft-float -ffreestanding -nostdlibinc -fno-stack-protector -fno-common \
	-ffunction-sections -fdata-sections -O2 -g
FW_INCLUDES := -I. -I$(BUILD) -isystem lib/include -I$(LIBFDT_SRC)
FW_CXXFLAGS := $(TARGET_FLAGS) -std=c++20 -nostdinc++ -fno-exceptions -fno-rtti \
	-fno-threadsafe-statics -fno-use-cxa-atexit -Wall -Wextra -Werror -Wglobal-constructors \
	-Wno-unused-parameter $(FW_INCLUDES)
FW_CFLAGS := $(TARGET_FLAGS) -std=gnu11 -Wno-sign-compare $(FW_INCLUDES)
FW_ASFLAGS := --target=powerpc64-unknown-none-elf -mabi=elfv2 -I$(BUILD)

.PHONY: all firmware tools help deps-build deps-test deps-run deps-bench deps-package libfdt \
	guest-kit disk-kit install-kit net-kit test host-tests run bench install install-firmware \
	install-tools install-docs uninstall deb clean version-check fuzz fuzz-build
.DEFAULT_GOAL := all

help:
	@echo 'make            build $(IMAGE) (the -bios image), $(ELF) (symbols) and $(RTAS_DUMP)'
	@echo 'make run        boot Debian'"'"'s ppc64el Linux on tern to a busybox shell, console on this'
	@echo '                terminal (Ctrl-a x quits, Ctrl-a c toggles QEMU'"'"'s monitor);'
	@echo '                MEMORY=$(MEMORY) SMP=$(SMP); KERNEL=... INITRD=... APPEND=... boot your own;'
	@echo '                DISK=disk.img boots an installed disk (virtio-blk, GRUB from its PReP partition)'
	@echo 'make test       build everything, run the host unit tests and the QEMU tests (CTest)'
	@echo 'make fuzz       run every libFuzzer target for FUZZ_SECONDS=$(FUZZ_SECONDS) s each and print a table'
	@echo '                (exec/s, coverage, crashes; crash inputs in $(FUZZ_BUILD)/<target>/crashes)'
	@echo 'make bench      tern beside SLOF and VOF: boot to init, disk, CD and network boot, TFTP'
	@echo '                throughput, hot-add latency, image and RTAS sizes, configure-connector'
	@echo '                instructions (callgrind); progress on the terminal, results.json,'
	@echo '                results.md and results.png in $(BUILD)/bench;'
	@echo '                BENCH_ROUNDS=$(BENCH_ROUNDS) rounds; BENCH_MAKE_TEST=1 also times make test'
	@echo 'make install    install under $$(DESTDIR)$$(PREFIX), PREFIX=$(PREFIX): tern.bin in share/qemu,'
	@echo '                tern.elf in share/tern, bin/tern-rtas-dump (+ man page), docs in share/doc/tern'
	@echo 'make uninstall  remove what make install installed (same PREFIX and DESTDIR)'
	@echo 'make deb        build the Debian packages tern-firmware and tern-tools into $(BUILD)/deb'
	@echo '                (offline: libfdt from linux-source-6.1'"'"'s tarball, no QEMU)'
	@echo 'make guest-kit  fetch Debian'"'"'s ppc64el kernel + build a busybox initramfs in $(GUEST_KIT)'
	@echo 'make disk-kit   build test disks (GRUB in a PReP partition, ext4 root) in $(DISK_KIT)'
	@echo 'make install-kit build install CD images (Debian'"'"'s installer, GRUB ISOs) in $(INSTALL_KIT)'
	@echo 'make net-kit    build a TFTP folder (GRUB'"'"'s network image, the installer) in $(NET_KIT)'
	@echo 'make clean      remove $(BUILD)/'
	@echo 'Variables: CLANG=$(CLANG) CLANGXX=$(CLANGXX) LLD=$(LLD) OBJCOPY=$(OBJCOPY) QEMU=$(QEMU)'
	@echo '           LIBFDT_SRC=$(LIBFDT_SRC) (fetched from Debian when absent)'

all: firmware tools
firmware: $(IMAGE)
tools: $(RTAS_DUMP)

# Host tools, built with clang in C++ mode from the same sources as the firmware. CPPFLAGS,
# CXXFLAGS and LDFLAGS come from the environment (dpkg-buildflags in a package build).
RTAS_DUMP_SOURCES := tools/tern-rtas-dump.cc tools/rtas-dump.cc $(call module_sources,dump)
$(RTAS_DUMP): $(RTAS_DUMP_SOURCES) tools/rtas-dump.h rtas/layout.h rtas/state-region.h \
		rtas/services.h drc/walk-slot.h drc/snapshot-records.h $(BUILD)/version.h | deps-build
	@mkdir -p $(@D)
	@echo "  HOSTCXX $@"
	@$(CLANG) --driver-mode=g++ -std=c++20 -O2 -Wall -Wextra -Werror -I. -fno-builtin \
		$(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -include $(BUILD)/version.h -o $@ $(RTAS_DUMP_SOURCES)

deps-build:
	@tools/deps.sh build
deps-test:
	@tools/deps.sh test
deps-run:
	@tools/deps.sh run
deps-bench:
	@tools/deps.sh bench
deps-package:
	@tools/deps.sh package

$(LIBFDT_SRC)/libfdt.h: | deps-build
	tools/fetch-libfdt.sh $(if $(LIBFDT_TARBALL),--tarball $(LIBFDT_TARBALL)) $(LIBFDT_SRC)
libfdt: $(LIBFDT_SRC)/libfdt.h
# The fetch above brings the .c files too (make must not conclude early that they are missing).
$(addprefix $(LIBFDT_SRC)/,$(LIBFDT_SOURCES)): $(LIBFDT_SRC)/libfdt.h ;

# The version string: VERSION, plus -g<commit>[-dirty] in a git checkout, so it changes with every
# commit; version.h is rewritten only when it does. TERN_VERSION=... replaces it (debian/rules
# passes the package's version from debian/changelog). The firmware's banner and identification
# block and tern-rtas-dump --version all print this one string.
ifeq ($(origin TERN_VERSION),undefined)
TERN_VERSION := $(shell cat VERSION)$(shell git rev-parse --short HEAD >/dev/null 2>&1 && \
	echo "-g$$(git rev-parse --short HEAD)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)")
endif
$(BUILD)/version.h: version-check
	@mkdir -p $(@D)
	@echo '#define TERN_VERSION_STRING "$(TERN_VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(BUILD)/fw/%.o: %.cc $(BUILD)/version.h $(LIBFDT_SRC)/libfdt.h | deps-build
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	@$(CLANG) $(FW_CXXFLAGS) -include $(BUILD)/version.h -MMD -MP -c $< -o $@

$(BUILD)/fw/%.o: %.S $(BUILD)/version.h | deps-build
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CLANG) $(FW_ASFLAGS) -include $(BUILD)/version.h -MMD -MP -c $< -o $@

$(BUILD)/fw/boot/rtas-image.o: $(RTAS_IMAGE)
$(BUILD)/fw/boot/rtas-image.o: FW_ASFLAGS += -DTERN_RTAS_BIN='"$(abspath $(RTAS_IMAGE))"'

$(BUILD)/rtas-image/%.o: %.cc $(LIBFDT_SRC)/libfdt.h | deps-build
	@mkdir -p $(@D)
	@echo "  CXX     $< (RTAS)"
	@$(CLANG) $(FW_CXXFLAGS) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/rtas-image/%.o: %.S | deps-build
	@mkdir -p $(@D)
	@echo "  AS      $< (RTAS)"
	@$(CLANG) $(FW_ASFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/rtas.elf: $(RTAS_OBJECTS) linker/rtas.ld
	@echo "  LD      $@"
	@$(LLD) -pie --no-dynamic-linker -nostdlib --gc-sections -T linker/rtas.ld \
		-Map $(BUILD)/rtas.map -o $@ $(RTAS_OBJECTS)

# The RTAS test client (tests/client/): an OS stand-in for the QEMU tests, built like the firmware.
CLIENT_OBJECTS := $(BUILD)/fw/tests/client/start.o $(BUILD)/fw/tests/client/rtas-client.o \
	$(BUILD)/fw/tests/client/client-lib.o \
	$(BUILD)/fw/lib/format.o $(BUILD)/fw/lib/string.o $(BUILD)/fw/lib/libc.o
$(RTAS_CLIENT): $(CLIENT_OBJECTS) tests/client/client.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(LLD) -static -nostdlib --gc-sections -T tests/client/client.ld -o $@ $(CLIENT_OBJECTS)

CC_CLIENT_OBJECTS := $(BUILD)/fw/tests/client/start.o $(BUILD)/fw/tests/client/secondary.o \
	$(BUILD)/fw/tests/client/cc-client.o $(BUILD)/fw/tests/client/client-lib.o \
	$(BUILD)/fw/lib/format.o $(BUILD)/fw/lib/string.o $(BUILD)/fw/lib/libc.o
$(CC_CLIENT): $(CC_CLIENT_OBJECTS) tests/client/client.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(LLD) -static -nostdlib --gc-sections -T tests/client/client.ld -o $@ $(CC_CLIENT_OBJECTS)

$(RTAS_IMAGE): $(BUILD)/rtas.elf
	@$(OBJCOPY) -O binary $< $@
	@echo "tern: $@ $$(stat -c %s $@) bytes"

$(BUILD)/fw/libfdt/%.o: $(LIBFDT_SRC)/%.c | deps-build
	@mkdir -p $(@D)
	@echo "  CC      libfdt/$(<F)"
	@$(CLANG) $(FW_CFLAGS) -MMD -MP -c $< -o $@

$(ELF): $(FW_OBJECTS) linker/tern.ld
	@echo "  LD      $@"
	@$(LLD) -static -nostdlib --gc-sections -T linker/tern.ld -Map $(BUILD)/tern.map -o $@ $(FW_OBJECTS)

$(IMAGE): $(ELF)
	@$(OBJCOPY) -O binary $< $@
	@size=$$(stat -c %s $@); \
	if [ $$size -gt $(MAX_IMAGE_BYTES) ]; then \
	  echo "tern: $@ is $$size bytes, over the $(MAX_IMAGE_BYTES)-byte limit" >&2; rm -f $@; exit 1; \
	fi; \
	echo "tern: $@ $$size bytes ($(TERN_VERSION))"

guest-kit: | deps-run
	tools/guest-kit.sh $(GUEST_KIT)

# Test disks (GRUB in a PReP partition, an ext4 root), built from Debian's packages.
disk-kit: guest-kit | deps-test
	tools/disk-kit.sh --guest-kit $(GUEST_KIT) $(DISK_KIT)

# Install media (ISO 9660 images made by grub-mkrescue: Debian's installer, a CD whose bootinfo.txt
# names a missing file, a CD that reboots), built from Debian's packages.
install-kit: | deps-test
	tools/install-kit.sh $(INSTALL_KIT)

# Network boot (a TFTP folder for QEMU's own DHCP and TFTP server: GRUB's network image from
# grub-mknetdir, Debian's installer), built from Debian's packages.
net-kit: | deps-run
	tools/net-kit.sh $(NET_KIT)

# The libFuzzer targets (tests/fuzz): the same CMake project configured with clang and
# TERN_FUZZ=ON in $(BUILD)/fuzz, optimized (fuzzing wants executions per second).
FUZZ_BUILD := $(BUILD)/fuzz
fuzz-build: $(LIBFDT_SRC)/libfdt.h | deps-test
	cmake -S tests -B $(FUZZ_BUILD) -DTERN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_CXX_COMPILER=$(CLANGXX) \
		-DLIBFDT_SRC=$(abspath $(LIBFDT_SRC)) >/dev/null
	cmake --build $(FUZZ_BUILD) -j$$(nproc) -- --no-print-directory

fuzz: fuzz-build
	tools/fuzz.sh --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

# Host unit tests and QEMU tests: CMake + CTest in $(BUILD)/host (see tests/CMakeLists.txt); the
# fuzz targets' smoke tests (label fuzz) run the binaries of $(FUZZ_BUILD).
host-tests: $(IMAGE) $(RTAS_DUMP) $(RTAS_CLIENT) $(CC_CLIENT) guest-kit disk-kit install-kit \
		net-kit fuzz-build | deps-test
	cmake -S tests -B $(BUILD)/host -DLIBFDT_SRC=$(abspath $(LIBFDT_SRC)) \
		-DTERN_IMAGE=$(abspath $(IMAGE)) -DQEMU=$(QEMU) -DCLANG=$(CLANG) -DLLD=$(LLD) \
		-DGUEST_KIT=$(abspath $(GUEST_KIT)) -DDISK_KIT=$(abspath $(DISK_KIT)) \
		-DINSTALL_KIT=$(abspath $(INSTALL_KIT)) -DNET_KIT=$(abspath $(NET_KIT)) \
		-DRTAS_DUMP=$(abspath $(RTAS_DUMP)) \
		-DRTAS_IMAGE=$(abspath $(RTAS_IMAGE)) \
		-DRTAS_CLIENT=$(abspath $(RTAS_CLIENT)) -DCC_CLIENT=$(abspath $(CC_CLIENT)) \
		-DFUZZ_BUILD=$(abspath $(FUZZ_BUILD)) >/dev/null
	cmake --build $(BUILD)/host -j$$(nproc) -- --no-print-directory

test: deps-test host-tests
	cd $(BUILD)/host && ctest --output-on-failure -j$$(nproc)

RUN_KERNEL := $(or $(KERNEL),$(GUEST_KIT)/vmlinux)
RUN_INITRD := $(if $(KERNEL),$(INITRD),$(or $(INITRD),$(GUEST_KIT)/initramfs.cpio.gz))
RUN_DISK_ARGS := -drive file=$(DISK),if=none,id=disk,format=raw \
	-device virtio-blk-pci,drive=disk,bootindex=1
RUN_KERNEL_ARGS := -kernel $(RUN_KERNEL) $(if $(RUN_INITRD),-initrd $(RUN_INITRD)) \
	$(if $(APPEND),-append "$(APPEND)")
QEMU_RUN_ARGS := -M pseries -m $(MEMORY) -smp $(SMP) -nographic -no-reboot -bios $(IMAGE) \
	$(if $(DISK),$(RUN_DISK_ARGS),$(RUN_KERNEL_ARGS))
run: deps-run $(IMAGE) $(if $(or $(KERNEL),$(DISK)),,guest-kit)
	$(QEMU) $(QEMU_RUN_ARGS)

# One run, one report in $(BUILD)/bench (tools/bench.py --help). Debian's python3, whose
# python3-matplotlib draws the chart, even when another python3 comes first in PATH.
bench: $(IMAGE) $(RTAS_IMAGE) guest-kit disk-kit install-kit net-kit | deps-bench
	$(BENCH_PYTHON) tools/bench.py --qemu $(QEMU) --image $(IMAGE) --build $(BUILD) \
		--kit $(GUEST_KIT) --disks $(DISK_KIT) --install-kit $(INSTALL_KIT) --net-kit $(NET_KIT) \
		--libfdt $(abspath $(LIBFDT_SRC)) \
		--rounds $(BENCH_ROUNDS) $(if $(filter-out 0,$(BENCH_MAKE_TEST)),--make-test)

# make install: the image where QEMU's -bios finds a bare file name (its data directory,
# share/qemu, for PREFIX=/usr), its ELF with symbols, the host tool and the docs. Why these paths:
# docs/usage.md#installed-files.
install: install-firmware install-tools install-docs
install-firmware: $(IMAGE)
	$(INSTALL) -d $(DESTDIR)$(FIRMWARE_DIR) $(DESTDIR)$(TERN_DATA_DIR)
	$(INSTALL) -m 0644 $(IMAGE) $(DESTDIR)$(FIRMWARE_DIR)/tern.bin
	$(INSTALL) -m 0644 $(ELF) $(DESTDIR)$(TERN_DATA_DIR)/tern.elf
install-tools: $(RTAS_DUMP)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0755 $(RTAS_DUMP) $(DESTDIR)$(BINDIR)/tern-rtas-dump
	$(INSTALL) -m 0644 tools/tern-rtas-dump.1 $(DESTDIR)$(MANDIR)/man1/tern-rtas-dump.1
install-docs:
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/docs
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/docs/
uninstall:
	rm -f $(DESTDIR)$(FIRMWARE_DIR)/tern.bin $(DESTDIR)$(TERN_DATA_DIR)/tern.elf \
		$(DESTDIR)$(BINDIR)/tern-rtas-dump $(DESTDIR)$(MANDIR)/man1/tern-rtas-dump.1 \
		$(DESTDIR)$(DOCDIR)/README.md $(addprefix $(DESTDIR)$(DOCDIR)/docs/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(TERN_DATA_DIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian packages (debian/), built offline from a copy of this tree in $(BUILD)/deb.
deb: | deps-package
	tools/build-deb.sh $(BUILD)/deb

clean:
	rm -rf $(BUILD)

-include $(FW_OBJECTS:.o=.d) $(RTAS_OBJECTS:.o=.d) $(CLIENT_OBJECTS:.o=.d) \
	$(CC_CLIENT_OBJECTS:.o=.d)
