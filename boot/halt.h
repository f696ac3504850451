// Stopping the boot CPU for good (lib::Halt in the firmware build), and the tree the stop paths
// read the host's RTAS tokens from.
#pragma once

namespace boot {

// The tree lib::Halt reads the host's stop-self token from, and an exception report its power-off
// token (boot/exception.h); until it is set, Halt() spins and a report cannot power off. Defined
// in boot/exception.cc, which the host tests build with the exception path.
void SetHaltTree(const void* tree);
const void* HaltTree();

}  // namespace boot
