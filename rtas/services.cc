#include "rtas/services.h"

#include "lib/string.h"

namespace rtas {
namespace {

// Counts are the ones QEMU 7.2 accepts (hw/ppc/spapr_rtas.c, spapr_drc.c, spapr_events.c) where
// they are fixed; -1 where QEMU accepts several or the service is the PCI/EEH family QEMU checks.
constexpr RtasService kServices[] = {
    {"display-character", 1, 1},
    {"get-time-of-day", 0, 8},
    {"set-time-of-day", 7, 1},
    {"power-off", 2, 1},
    {"system-reboot", 0, 1},
    {"query-cpu-stopped-state", 1, 2},
    {"start-cpu", 3, 1},
    {"stop-self", 0, 1},
    {"ibm,get-system-parameter", 3, 1},
    {"ibm,set-system-parameter", -1, -1},
    {"ibm,set-xive", -1, -1},
    {"ibm,get-xive", -1, -1},
    {"ibm,int-off", -1, -1},
    {"ibm,int-on", -1, -1},
    {"check-exception", -1, 1},
    {"event-scan", 4, 1},
    {"ibm,set-tce-bypass", -1, -1},
    {"quiesce", 0, 1},
    {"nvram-fetch", -1, -1},
    {"nvram-store", -1, -1},
    {"read-pci-config", -1, -1},
    {"write-pci-config", -1, -1},
    {"ibm,read-pci-config", -1, -1},
    {"ibm,write-pci-config", -1, -1},
    {"ibm,query-interrupt-source-number", -1, -1},
    {"ibm,change-msi", -1, -1},
    {"set-indicator", 3, 1},
    {"set-power-level", -1, -1},
    {"get-power-level", -1, -1},
    {"get-sensor-state", 2, 2},
    {"ibm,configure-connector", 2, 1},
    {"ibm,os-term", 1, 1},
    {"ibm,set-eeh-option", -1, -1},
    {"ibm,get-config-addr-info2", -1, -1},
    {"ibm,read-slot-reset-state2", -1, -1},
    {"ibm,set-slot-reset", -1, -1},
    {"ibm,configure-pe", -1, -1},
    {"ibm,slot-error-detail", -1, -1},
    {"ibm,query-pe-dma-window", -1, -1},
    {"ibm,create-pe-dma-window", -1, -1},
    {"ibm,remove-pe-dma-window", -1, -1},
    {"ibm,reset-pe-dma-window", -1, -1},
    {"ibm,suspend-me", -1, -1},
    {"ibm,nmi-register", 2, 1},
    {"ibm,nmi-interlock", 0, 1},
};

}  // namespace

lib::Span<const RtasService> Services() {
  return lib::Span<const RtasService>(kServices, sizeof(kServices) / sizeof(kServices[0]));
}

int FindService(const char* name) {
  const lib::Span<const RtasService> services = Services();
  for (size_t i = 0; i < services.size(); ++i) {
    if (lib::StrCompare(services[i].name, name) == 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace rtas
