#include "rtas/services.h"

#include "drc/rtas-services.h"
#include "lib/string.h"

namespace rtas {
namespace {

// Counts are the ones QEMU 7.2 accepts (hw/ppc/spapr_rtas.c, spapr_drc.c, spapr_events.c) where
// they are fixed; -1 where QEMU accepts several or the service is the PCI/EEH family QEMU checks.
constexpr RtasService kServices[] = {
    {"display-character", 1, 1, nullptr},
    {"get-time-of-day", 0, 8, nullptr},
    {"set-time-of-day", 7, 1, nullptr},
    {"power-off", 2, 1, nullptr},
    {"system-reboot", 0, 1, drc::EndAllWalksService},
    {"query-cpu-stopped-state", 1, 2, nullptr},
    {"start-cpu", 3, 1, nullptr},
    {"stop-self", 0, 1, nullptr},
    {"ibm,get-system-parameter", 3, 1, nullptr},
    {"ibm,set-system-parameter", -1, -1, nullptr},
    {"ibm,set-xive", -1, -1, nullptr},
    {"ibm,get-xive", -1, -1, nullptr},
    {"ibm,int-off", -1, -1, nullptr},
    {"ibm,int-on", -1, -1, nullptr},
    {"check-exception", -1, 1, nullptr},
    {"event-scan", 4, 1, nullptr},
    {"ibm,set-tce-bypass", -1, -1, nullptr},
    {"quiesce", 0, 1, nullptr},
    {"nvram-fetch", -1, -1, nullptr},
    {"nvram-store", -1, -1, nullptr},
    {"read-pci-config", -1, -1, nullptr},
    {"write-pci-config", -1, -1, nullptr},
    {"ibm,read-pci-config", -1, -1, nullptr},
    {"ibm,write-pci-config", -1, -1, nullptr},
    {"ibm,query-interrupt-source-number", -1, -1, nullptr},
    {"ibm,change-msi", -1, -1, nullptr},
    {"set-indicator", 3, 1, drc::SetIndicatorService},
    {"set-power-level", -1, -1, nullptr},
    {"get-power-level", -1, -1, nullptr},
    {"get-sensor-state", 2, 2, nullptr},
    {"ibm,configure-connector", 2, 1, drc::ConfigureConnectorService, true},
    {"ibm,os-term", 1, 1, drc::EndAllWalksService},
    {"ibm,set-eeh-option", -1, -1, nullptr},
    {"ibm,get-config-addr-info2", -1, -1, nullptr},
    {"ibm,read-slot-reset-state2", -1, -1, nullptr},
    {"ibm,set-slot-reset", -1, -1, nullptr},
    {"ibm,configure-pe", -1, -1, nullptr},
    {"ibm,slot-error-detail", -1, -1, nullptr},
    {"ibm,query-pe-dma-window", -1, -1, nullptr},
    {"ibm,create-pe-dma-window", -1, -1, nullptr},
    {"ibm,remove-pe-dma-window", -1, -1, nullptr},
    {"ibm,reset-pe-dma-window", -1, -1, nullptr},
    {"ibm,suspend-me", -1, -1, nullptr},
    {"ibm,nmi-register", 2, 1, nullptr},
    {"ibm,nmi-interlock", 0, 1, nullptr},
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
